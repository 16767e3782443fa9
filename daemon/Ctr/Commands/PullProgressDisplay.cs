using System.Diagnostics;
using Containerd.Api.Images;
using Containerd.Ctr.Output;

namespace Containerd.Ctr.Commands;

/// <summary>
/// Shows a pull's progress. On a terminal: one line per blob, rewritten in
/// place (short digest, phase, bytes done/total, rate). Otherwise (a pipe, a
/// log file, a test): one plain line per blob once it is done, nothing that
/// needs a cursor.
/// </summary>
internal sealed class PullProgressDisplay(TextWriter output, bool terminal)
{
    private readonly List<string> _order = [];
    private readonly Dictionary<string, (BlobProgress Blob, long StartTicks, long FirstBytes)> _blobs = new(StringComparer.Ordinal);
    private readonly HashSet<string> _announced = new(StringComparer.Ordinal);
    private int _linesDrawn;

    public void Update(BlobProgress blob)
    {
        if (!_blobs.TryGetValue(blob.Digest, out var known))
        {
            _order.Add(blob.Digest);
            known = (blob, Stopwatch.GetTimestamp(), blob.Done);
        }
        _blobs[blob.Digest] = (blob, known.StartTicks, known.FirstBytes);
        if (terminal)
        {
            Redraw();
            return;
        }
        if (blob.Phase is "done" or "exists" && _announced.Add(blob.Digest))
            output.WriteLine($"{Kind(blob.MediaType)} {blob.Digest}: {(blob.Phase == "exists" ? "exists" : "done")} {HumanUnits.Size(blob.Total)}");
    }

    public void Status(string status)
    {
        if (terminal)
            Redraw();
        output.WriteLine(status);
        _linesDrawn = 0; // the status line sits below the table; the next redraw starts a new one
    }

    private void Redraw()
    {
        if (_linesDrawn > 0)
            output.Write($"\x1b[{_linesDrawn}A");
        foreach (var digest in _order)
        {
            var (blob, start, first) = _blobs[digest];
            var elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
            var rate = blob.Phase == "downloading" && elapsed > 0.2 ? $"{HumanUnits.Size((long)((blob.Done - first) / elapsed))}/s" : "";
            var bytes = blob.Total > 0 ? $"{HumanUnits.Size(blob.Done)}/{HumanUnits.Size(blob.Total)}" : HumanUnits.Size(blob.Done);
            output.Write($"\x1b[2K{Kind(blob.MediaType),-8} {Short(digest)}  {blob.Phase,-11} {bytes,-20} {rate}\n");
        }
        _linesDrawn = _order.Count;
        output.Flush();
    }

    private static string Short(string digest) => digest.StartsWith("sha256:", StringComparison.Ordinal) && digest.Length >= 19 ? digest[..19] : digest;

    private static string Kind(string mediaType) => mediaType switch
    {
        _ when mediaType.Contains("index", StringComparison.Ordinal) || mediaType.Contains("manifest.list", StringComparison.Ordinal) => "index",
        _ when mediaType.Contains("manifest", StringComparison.Ordinal) => "manifest",
        _ when mediaType.Contains("config", StringComparison.Ordinal) => "config",
        _ when mediaType.Contains("layer", StringComparison.Ordinal) || mediaType.Contains("rootfs", StringComparison.Ordinal) => "layer",
        _ => "blob",
    };
}
