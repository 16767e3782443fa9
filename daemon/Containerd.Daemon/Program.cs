using Containerd.Daemon.Hosting;

return await DaemonCommand.Create().Parse(args).InvokeAsync(new System.CommandLine.InvocationConfiguration
{
    // The host handles SIGTERM/SIGINT itself and stops gracefully; System.CommandLine
    // must not race it by killing the process after a timeout.
    ProcessTerminationTimeout = null,
});
