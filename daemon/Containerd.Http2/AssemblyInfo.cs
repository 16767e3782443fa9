using System.Runtime.CompilerServices;

// The unit tests drive the frame, block and rule seams directly, not only through the rewriter.
[assembly: InternalsVisibleTo("Containerd.UnitTests")]
