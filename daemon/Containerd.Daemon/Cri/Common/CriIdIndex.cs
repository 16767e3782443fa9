using Containerd.Daemon.Hosting;

namespace Containerd.Daemon.Cri.Common;

/// <summary>
/// crictl and people shorten ids (as docker does): a request may name a sandbox
/// or container by a unique prefix of its id, as containerd's truncindex allows.
/// </summary>
public static class CriIdIndex
{
    /// <summary>The one id that <paramref name="prefix"/> starts; null when none does; InvalidArgument when several do.</summary>
    public static string? Resolve(string prefix, IEnumerable<string> ids, string what)
    {
        if (prefix.Length == 0)
            throw RpcErrors.InvalidArgument($"{what} id is required");
        string? found = null;
        foreach (var id in ids)
        {
            if (id == prefix)
                return id;
            if (!id.StartsWith(prefix, StringComparison.Ordinal))
                continue;
            if (found is not null)
                throw RpcErrors.InvalidArgument($"{what} id prefix \"{prefix}\" is ambiguous");
            found = id;
        }
        return found;
    }
}
