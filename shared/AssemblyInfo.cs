using System.Runtime.Versioning;

// Bundles, FIFOs and unix sockets: the shared library serves Linux executables only.
[assembly: SupportedOSPlatform("linux")]
