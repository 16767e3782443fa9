using System.Runtime.CompilerServices;
using System.Runtime.Versioning;

// ctr drives Linux containers through FIFOs and POSIX signals; it runs nowhere else.
[assembly: SupportedOSPlatform("linux")]
[assembly: InternalsVisibleTo("Containerd.UnitTests")]
