using System.Globalization;
using Containerd.Shim.Runc;

namespace Containerd.Shim.Cli;

/// <summary>
/// What the delete sub-command reports on stdout, as one line the daemon
/// parses: <c>&lt;status-word-or-none&gt; &lt;init-pid-or-0&gt; &lt;exit-status&gt;</c>,
/// e.g. <c>running 4242 137</c> or <c>none 0 255</c>.
/// </summary>
/// <param name="Status">runc's status word before the delete; null when runc knew no such container.</param>
/// <param name="InitPid">From BUNDLE/init.pid; 0 when there was none.</param>
internal readonly record struct DeleteOutcome(string? Status, int InitPid)
{
    /// <summary>137 (SIGKILL) when runc delete --force killed a live container; 255 (unknown) otherwise.</summary>
    public int ExitStatus => RuncStatus.HasLiveProcess(Status) ? 128 + 9 : 255;

    /// <summary>The line, without its newline.</summary>
    public string Format() =>
        string.Create(CultureInfo.InvariantCulture, $"{(string.IsNullOrEmpty(Status) ? "none" : Status)} {InitPid} {ExitStatus}");
}
