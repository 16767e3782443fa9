using Containerd.Shared.Native;

namespace Containerd.Daemon.Shims;

/// <summary>
/// A shim started by an earlier daemon. It is not our child (it was reparented
/// when that daemon exited), so liveness is read from /proc; the command line
/// must still name the bundle, so a reused pid is never mistaken for the shim.
/// <paramref name="bundle"/> is the bundle directory, as the shim's --bundle names it.
/// </summary>
public sealed class AdoptedShimOsProcess(int pid, string bundle) : IShimOsProcess
{
    public int Pid { get; } = pid;

    public bool HasExited => !IsStillTheShim();

    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (IsStillTheShim())
        {
            if (DateTime.UtcNow >= deadline)
                return false;
            await Task.Delay(20).ConfigureAwait(false);
        }
        return true;
    }

    public void Kill()
    {
        if (IsStillTheShim())
            Libc.Kill(Pid, 9);
    }

    /// <summary>Live processes whose command line serves <paramref name="bundle"/> (<c>--bundle BUNDLE</c>): its shims.</summary>
    public static IReadOnlyList<int> FindServing(string bundle)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId)
                continue;
            try
            {
                var arguments = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
                var at = Array.IndexOf(arguments, "--bundle");
                if (at >= 0 && at + 1 < arguments.Length && arguments[at + 1] == bundle && new AdoptedShimOsProcess(pid, bundle).IsStillTheShim())
                    found.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile.
            }
        }
        return found;
    }

    private bool IsStillTheShim()
    {
        if (Pid <= 0)
            return false;
        try
        {
            // A zombie has exited; its parent (not us) has yet to reap it.
            var stat = File.ReadAllText($"/proc/{Pid}/stat");
            var afterName = stat.LastIndexOf(')');
            if (afterName > 0 && afterName + 2 < stat.Length && stat[afterName + 2] == 'Z')
                return false;
            var cmdline = File.ReadAllText($"/proc/{Pid}/cmdline");
            return cmdline.Split('\0').Contains(bundle);
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }
}
