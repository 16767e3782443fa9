using System.Runtime.Versioning;

namespace Containerd.Shared.Bundles;

/// <summary>
/// Write to a temporary file beside the target, then rename over it: a
/// process killed half-way (daemon or shim, at any instant) leaves the old
/// content or the new one, never a mix.
/// </summary>
[SupportedOSPlatform("linux")]
public static class AtomicFile
{
    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <param name="mode">Created with this mode (root-only by default: bundles hold specs with secrets).</param>
    public static void Write(string path, ReadOnlySpan<byte> content, UnixFileMode mode = OwnerReadWrite)
    {
        var temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, new FileStreamOptions
               {
                   Mode = FileMode.Create,
                   Access = FileAccess.Write,
                   UnixCreateMode = mode,
               }))
        {
            stream.Write(content);
        }
        File.Move(temporary, path, overwrite: true);
    }
}
