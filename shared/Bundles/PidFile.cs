using System.Globalization;
using System.Runtime.Versioning;
using System.Text;

namespace Containerd.Shared.Bundles;

/// <summary>A file that holds one decimal pid (runc's --pid-file, the shim's own).</summary>
[SupportedOSPlatform("linux")]
public static class PidFile
{
    /// <exception cref="IOException">The file cannot be read or holds no pid; the message names the file.</exception>
    public static int Read(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot read pid file {path}: {e.Message}", e);
        }
        return Parse(text) is var pid and > 0 ? pid : throw new IOException($"pid file {path} holds no pid: \"{text}\"");
    }

    /// <summary>The pid, or 0 when the file is missing, unreadable or holds no pid.</summary>
    public static int TryRead(string path)
    {
        try
        {
            return Parse(File.ReadAllText(path).Trim());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    /// <summary>Written whole or not at all: a reader never sees a torn pid.</summary>
    public static void Write(string path, int pid) =>
        AtomicFile.Write(path, Encoding.ASCII.GetBytes(pid.ToString(CultureInfo.InvariantCulture)));

    private static int Parse(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 0 ? pid : 0;
}
