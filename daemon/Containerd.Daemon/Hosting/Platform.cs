// The daemon drives runc, unix sockets and mount tables: Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
