using System.Runtime.Versioning;
using Containerd.Shim;
using Containerd.Shim.Cli;

[assembly: SupportedOSPlatform("linux")]

// "delete" cleans up after a dead shim and exits; anything else is the server.
return args is ["delete", .. var rest]
    ? await DeleteCommand.RunAsync(rest).ConfigureAwait(false)
    : await ShimHost.RunAsync(args).ConfigureAwait(false);
