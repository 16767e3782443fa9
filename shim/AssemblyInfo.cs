using System.Runtime.CompilerServices;

// The unit tests drive the state machine, reaper, queues and parsers directly.
[assembly: InternalsVisibleTo("Containerd.UnitTests")]
