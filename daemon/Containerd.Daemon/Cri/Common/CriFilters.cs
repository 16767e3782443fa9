using Google.Protobuf.Collections;

namespace Containerd.Daemon.Cri.Common;

/// <summary>The CRI's list filters: a label selector matches when every pair is among the labels.</summary>
public static class CriFilters
{
    public static bool LabelsMatch(MapField<string, string> selector, MapField<string, string> labels) =>
        selector.All(l => labels.TryGetValue(l.Key, out var value) && value == l.Value);
}
