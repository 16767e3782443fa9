namespace Containerd.Daemon.Filters;

/// <summary>A filter that does not parse, or names a field the listed objects do not have.</summary>
public sealed class FilterSyntaxException(string message) : Exception(message);
