using System.Diagnostics;
using Mount = Containerd.Api.Types.Mount;

namespace Containerd.UnitTests.Daemon.Snapshots;

/// <summary>Mounts a snapshotter's answer with mount(8), as the shim would with mount(2); tests unmount in finally.</summary>
internal static class TestMounts
{
    public static void MountAll(IReadOnlyList<Mount> mounts, string target)
    {
        foreach (var mount in mounts)
        {
            var options = mount.Options.Where(o => o != "rbind").ToList();
            if (mount.Type == "bind")
            {
                Run("mount", "--rbind", mount.Source, target);
                if (options.Contains("ro"))
                    Run("mount", "-o", "remount,bind,ro", target);
            }
            else
            {
                Run("mount", "-t", mount.Type, "-o", string.Join(',', options), mount.Source, target);
            }
        }
    }

    public static void Unmount(string target) => Run("umount", "-l", target);

    public static bool IsMounted(string path) =>
        System.IO.File.ReadAllLines("/proc/self/mountinfo").Any(line => line.Split(' ')[4] == path);

    public static string Run(string file, params string[] arguments)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in arguments)
            info.ArgumentList.Add(argument);
        using var process = Process.Start(info)!;
        string output = process.StandardOutput.ReadToEnd();
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)}: exit {process.ExitCode}: {error}");
        return output;
    }
}
