using System.Text.Json;

namespace Containerd.Shared.Oci;

/// <summary>
/// The process an image's config asks for, as containerd's WithImageConfig and
/// WithImageConfigArgs build it: entrypoint + cmd (command-line words replace
/// cmd, never the entrypoint), the image's env with the caller's merged over it
/// (a KEY replaces the same KEY), PATH defaulted when the image sets none, the
/// working directory (default /), and the user string (resolved against the
/// image's /etc/passwd by <see cref="Users.UserDatabase"/>).
/// </summary>
public sealed record ImageProcess(IReadOnlyList<string> Args, IReadOnlyList<string> Env, string Cwd, string User)
{
    /// <param name="configJson">The image config blob (OCI or docker).</param>
    /// <param name="args">Words given on the command line; empty: the image's cmd.</param>
    /// <param name="env">KEY=VALUE given on the command line, merged over the image's.</param>
    /// <param name="cwd">A working directory given on the command line, or null for the image's.</param>
    /// <param name="user">A user given on the command line, or null for the image's.</param>
    /// <exception cref="FormatException">The config is malformed or names no command.</exception>
    public static ImageProcess From(ReadOnlySpan<byte> configJson, IReadOnlyList<string> args, IReadOnlyList<string> env, string? cwd, string? user)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(configJson.ToArray());
        }
        catch (JsonException e)
        {
            throw new FormatException($"image config is not valid JSON: {e.Message}");
        }
        using (document)
        {
            var config = document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("config", out var c) && c.ValueKind == JsonValueKind.Object ? c : default;
            var entrypoint = Strings(config, "Entrypoint");
            var cmd = args.Count > 0 ? args : Strings(config, "Cmd");
            List<string> finalArgs = [.. entrypoint, .. cmd];
            if (finalArgs.Count == 0)
                throw new FormatException("the image has no entrypoint or cmd: give a command");

            var mergedEnv = Merge(Strings(config, "Env"), env);
            if (!mergedEnv.Any(e => e.StartsWith("PATH=", StringComparison.Ordinal)))
                mergedEnv.Insert(0, ProcessSpec.DefaultPath);

            var workingDir = cwd ?? String(config, "WorkingDir");
            if (workingDir.Length == 0)
                workingDir = "/";
            return new ImageProcess(finalArgs, mergedEnv, workingDir, user ?? String(config, "User"));
        }
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

    private static List<string> Strings(JsonElement config, string name) =>
        config.ValueKind == JsonValueKind.Object && config.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array
            ? [.. value.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.String).Select(v => v.GetString()!)]
            : [];

    private static string String(JsonElement config, string name) =>
        config.ValueKind == JsonValueKind.Object && config.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString() ?? ""
            : "";
}
