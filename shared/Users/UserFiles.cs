using System.Text;
using Containerd.Shared.Images;

namespace Containerd.Shared.Users;

/// <summary>Where a root filesystem keeps its users and groups, and loading them into a <see cref="UserDatabase"/>.</summary>
public static class UserFiles
{
    public const string Passwd = "etc/passwd";
    public const string Group = "etc/group";

    /// <summary>The two files as read out of an image's layers (null: not in the image).</summary>
    public static UserDatabase FromContents(byte[]? passwd, byte[]? group, string source) =>
        UserDatabase.Parse(Text(passwd), Text(group), source);

    /// <summary>
    /// The files under a host directory used as a rootfs. A symbolic link at
    /// etc or at either file is refused, not followed: resolved on the host it
    /// could name any of the host's files, not the container's.
    /// </summary>
    /// <exception cref="UserLookupException">A link, a file over <see cref="LayerFileReader.MaxFileBytes"/>, or a read error.</exception>
    public static UserDatabase FromDirectory(string root, string source)
    {
        RefuseLink(root, "etc", source);
        return UserDatabase.Parse(Read(root, Passwd, source), Read(root, Group, source), source);
    }

    private static string? Read(string root, string relative, string source)
    {
        RefuseLink(root, relative, source);
        var path = Path.Combine(root, relative);
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.None);
            if (file.Length > LayerFileReader.MaxFileBytes)
                throw new UserLookupException($"/{relative} of {source} is {file.Length} bytes, more than the {LayerFileReader.MaxFileBytes} read of it");
            var content = new byte[file.Length];
            file.ReadExactly(content);
            return Text(content);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (UnauthorizedAccessException) when (Directory.Exists(path))
        {
            // A directory where the file should be: no file, as getpwnam would find none.
            return null;
        }
        catch (IOException e)
        {
            throw new UserLookupException($"cannot read /{relative} of {source}: {e.Message}");
        }
    }

    private static void RefuseLink(string root, string relative, string source)
    {
        if (new FileInfo(Path.Combine(root, relative)).LinkTarget is { } target)
            throw new UserLookupException($"/{relative} of {source} is a symbolic link (to {target}): not followed, since it would resolve on the host");
    }

    private static string? Text(byte[]? content) => content is null ? null : Encoding.UTF8.GetString(content);
}
