namespace Containerd.Daemon.Config;

/// <summary>A value of the right key that cannot be used; the parser adds the file, line and key.</summary>
public sealed class ConfigValueException(string message) : Exception(message);
