using Containerd.Shared.Native;
using Containerd.Shim.Native;
using Microsoft.Extensions.Logging;

namespace Containerd.Shim.Reaper;

/// <summary>
/// The one place that reaps. A single thread blocks in waitpid(-1): as child
/// subreaper the shim inherits the container's init and every exec'd process
/// (runc double-forks them), and they must be reaped by the same code that
/// reaps runc itself, otherwise statuses get stolen or zombies pile up.
/// <para>
/// Who waits for which pid, and exits that arrive before anyone asked, are
/// kept by <see cref="ExitTable"/>, which this thread feeds; see there for
/// why runc children are spawned under its lock and how late watchers of
/// container processes still learn an early exit.
/// </para>
/// </summary>
internal sealed class ChildReaper
{
    private readonly ExitTable _exits = new();
    private readonly AutoResetEvent _spawned = new(false);
    private readonly ILogger _logger;
    private Thread? _thread;

    public ChildReaper(ILogger<ChildReaper> logger) => _logger = logger;

    public void Start()
    {
        _thread = new Thread(Run, 256 * 1024) { IsBackground = true, Name = "reaper" };
        _thread.Start();
    }

    /// <summary>
    /// Runs <paramref name="spawn"/> (which returns a pid) under the exit
    /// table's lock and returns the pid with a task that completes when it exits.
    /// </summary>
    public int Spawn(Func<int> spawn, out Task<ProcessExit> exit)
    {
        var pid = _exits.Spawn(spawn, out exit);
        _spawned.Set();
        return pid;
    }

    /// <summary>
    /// Watches a pid the shim did not spawn itself (a reparented container
    /// process). An unclaimed exit of that pid recorded before
    /// <paramref name="notBefore"/> (an <see cref="Environment.TickCount64"/>)
    /// belongs to an earlier process with the same pid and is ignored.
    /// </summary>
    public Task<ProcessExit> Watch(int pid, long notBefore) => _exits.Watch(pid, notBefore);

    private unsafe void Run()
    {
        while (true)
        {
            int status;
            var pid = Posix.WaitPid(-1, &status, 0);
            if (pid > 0)
            {
                _exits.Deliver(pid, new ProcessExit(Posix.DecodeWaitStatus(status), DateTime.UtcNow));
                continue;
            }

            var errno = Libc.LastError;
            if (errno == Libc.EINTR)
                continue;
            if (errno == Libc.ECHILD)
            {
                // No children: sleep until something is spawned. The timeout is
                // only a safety net; orphans can only appear while a child lives.
                _spawned.WaitOne(5000);
                continue;
            }
            _logger.LogError("waitpid failed: {Error}", Libc.ErrorText(errno));
            Thread.Sleep(100);
        }
    }
}
