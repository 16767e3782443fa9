namespace Containerd.Shim.Reaper;

/// <param name="Status">Exit code, or 128+n when killed by signal n.</param>
/// <param name="ExitedAt">When the reaper collected it (UTC).</param>
internal readonly record struct ProcessExit(int Status, DateTime ExitedAt);
