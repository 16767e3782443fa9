using System.Runtime.CompilerServices;

// The unit tests drive the event exchange, shim manager and parsers directly.
[assembly: InternalsVisibleTo("Containerd.UnitTests")]
