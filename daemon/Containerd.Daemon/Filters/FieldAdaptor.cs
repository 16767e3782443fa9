namespace Containerd.Daemon.Filters;

/// <summary>
/// The object side of a filter (containerd's <c>Adaptor</c>): the value at a
/// field path and whether the object has that field at all.
/// </summary>
public delegate (string Value, bool Present) FieldAdaptor(IReadOnlyList<string> path);
