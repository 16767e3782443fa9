using System.Runtime.Versioning;
using Containerd.Shim;

[assembly: SupportedOSPlatform("linux")]

return await ShimHost.RunAsync(args).ConfigureAwait(false);
