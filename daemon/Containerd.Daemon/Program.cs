using Containerd.Daemon.Hosting;

// Start-up allocates a few MiB that mostly die young; with the daemon's small gen0
// budget that would be dozens of collections before it serves. None until then
// (DaemonHost ends the region once serving; one aggressive collection follows).
StartupGc.Begin();

return await DaemonCommand.Create().Parse(args).InvokeAsync(new System.CommandLine.InvocationConfiguration
{
    // The host handles SIGTERM/SIGINT itself and stops gracefully; System.CommandLine
    // must not race it by killing the process after a timeout.
    ProcessTerminationTimeout = null,
});
