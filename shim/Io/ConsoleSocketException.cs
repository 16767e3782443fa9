namespace Containerd.Shim.Io;

/// <summary>
/// The shim could not make or use the console socket of a terminal process:
/// its own failure (Internal), unlike a client path it cannot open (InvalidArgument).
/// </summary>
internal sealed class ConsoleSocketException(string message) : IOException(message);
