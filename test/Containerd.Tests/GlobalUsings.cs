global using NUnit.Framework;

// The tests run real containers through the Linux-only shared library (libc, FIFOs, pidfds).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
