namespace Containerd.Shared.Oci;

/// <summary>
/// The process an image's config asks for, as containerd's WithImageConfig and
/// WithImageConfigArgs build it: entrypoint + cmd (command-line words replace
/// cmd, never the entrypoint), the image's env with the caller's merged over it
/// (a KEY replaces the same KEY), PATH defaulted when the image sets none, the
/// working directory (default /), and the user.
/// </summary>
public sealed record ImageProcess(IReadOnlyList<string> Args, IReadOnlyList<string> Env, string Cwd, uint Uid, uint Gid)
{
    /// <param name="configJson">The image config blob (OCI or docker).</param>
    /// <param name="args">Words given on the command line; empty: the image's cmd.</param>
    /// <param name="env">KEY=VALUE given on the command line, merged over the image's.</param>
    /// <param name="cwd">A working directory given on the command line, or null for the image's.</param>
    /// <param name="user">A user given on the command line, or null for the image's.</param>
    /// <exception cref="FormatException">The config is malformed, names no command, or a user that is not numeric.</exception>
    public static ImageProcess From(ReadOnlySpan<byte> configJson, IReadOnlyList<string> args, IReadOnlyList<string> env, string? cwd, string? user)
    {
        var config = ImageConfig.Parse(configJson);
        var cmd = args.Count > 0 ? args : config.Cmd;
        List<string> finalArgs = [.. config.Entrypoint, .. cmd];
        if (finalArgs.Count == 0)
            throw new FormatException("the image has no entrypoint or cmd: give a command");

        var mergedEnv = Merge(config.Env, env);
        if (!mergedEnv.Any(e => e.StartsWith("PATH=", StringComparison.Ordinal)))
            mergedEnv.Insert(0, ProcessSpec.DefaultPath);

        var workingDir = cwd ?? config.WorkingDir;
        if (workingDir.Length == 0)
            workingDir = "/";
        var (uid, gid) = ParseUser(user ?? config.User);
        return new ImageProcess(finalArgs, mergedEnv, workingDir, uid, gid);
    }

    /// <summary>
    /// <c>uid[:gid]</c>, numeric; <c>root</c> is 0. Other names would need the
    /// image's /etc/passwd, which lives in the snapshot the daemon prepares: refused
    /// with a message that says what to give instead.
    /// </summary>
    public static (uint Uid, uint Gid) ParseUser(string user)
    {
        if (user.Length == 0)
            return (0, 0);
        var parts = user.Split(':', 2);
        var uid = Id(parts[0], "user", user);
        // Without a group (and without /etc/passwd to look it up in), group 0, as docker does for an unknown uid.
        var gid = parts.Length == 2 ? Id(parts[1], "group", user) : 0u;
        return (uid, gid);
    }

    private static uint Id(string text, string what, string user)
    {
        if (text == "root")
            return 0;
        if (uint.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id))
            return id;
        throw new FormatException(
            $"image user \"{user}\": {what} \"{text}\" is a name; only numeric ids (uid[:gid]) or root are supported: give --user UID[:GID]");
    }

    /// <summary>The image's KEY=VALUE list with each of <paramref name="overrides"/> replacing its KEY in place, or appended.</summary>
    public static List<string> Merge(IEnumerable<string> image, IEnumerable<string> overrides)
    {
        var result = image.ToList();
        foreach (var variable in overrides)
        {
            var key = variable.Split('=', 2)[0] + "=";
            var index = result.FindIndex(e => e.StartsWith(key, StringComparison.Ordinal));
            if (index >= 0)
                result[index] = variable;
            else
                result.Add(variable);
        }
        return result;
    }
}
