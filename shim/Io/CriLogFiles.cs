using Containerd.Shared.Tasks;
using Microsoft.Extensions.Logging;

namespace Containerd.Shim.Io;

/// <summary>
/// The CRI log files of one process: stdout and stderr naming the same
/// <c>crilog://</c> path (as the CRI does) share one <see cref="CriLogWriter"/>,
/// so their records interleave whole in one file. Owned by the process's io,
/// which disposes it once the copiers have stopped.
/// </summary>
internal sealed class CriLogFiles(ILogger logger) : IDisposable
{
    private readonly List<CriLogWriter> _writers = [];

    /// <summary>Whether any stream of the process is written to a CRI log.</summary>
    public bool Any => _writers.Count > 0;

    /// <summary>
    /// The framer for one stream whose target is <paramref name="target"/>;
    /// null when the target is not a CRI log (a FIFO or a file).
    /// </summary>
    /// <exception cref="IOException">The target is malformed or its file cannot be opened; the message names it.</exception>
    public CriLogStream? TryStream(string name, string target)
    {
        switch (CriLogTarget.TryParse(target, out var path, out var problem))
        {
            case null:
                return null;
            case false:
                throw new IOException(problem);
        }
        var writer = _writers.Find(w => w.Path == path);
        if (writer is null)
        {
            writer = CriLogWriter.Open(path, logger);
            _writers.Add(writer);
        }
        return new CriLogStream(name, writer);
    }

    /// <summary>Reopens every file by its path (log rotation).</summary>
    /// <exception cref="IOException">A path cannot be opened; that file keeps its old fd.</exception>
    /// <exception cref="ObjectDisposedException">The io was released meanwhile.</exception>
    public void Reopen()
    {
        foreach (var writer in _writers)
            writer.Reopen();
    }

    public void Dispose()
    {
        foreach (var writer in _writers)
            writer.Dispose();
    }
}
