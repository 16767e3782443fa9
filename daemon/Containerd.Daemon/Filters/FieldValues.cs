namespace Containerd.Daemon.Filters;

/// <summary>What adaptors answer for the two kinds of field they have.</summary>
public static class FieldValues
{
    /// <summary>A scalar is present when it is set (proto3 has no "set to empty").</summary>
    public static (string Value, bool Present) Scalar(string? value) => (value ?? "", !string.IsNullOrEmpty(value));

    /// <summary>As containerd: <c>labels.a.b</c> and <c>labels."a.b"</c> both name the label <c>a.b</c>.</summary>
    public static (string Value, bool Present) Label(IDictionary<string, string> labels, IEnumerable<string> key) =>
        labels.TryGetValue(string.Join('.', key), out var value) ? (value, true) : ("", false);
}
