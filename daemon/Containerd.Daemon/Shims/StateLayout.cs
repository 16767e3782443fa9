using System.Security.Cryptography;
using System.Text;
using Containerd.Shared.Bundles;

namespace Containerd.Daemon.Shims;

/// <summary>
/// Where tasks live under --state: one bundle directory per task
/// (STATE/tasks/NS/ID, whose files <see cref="TaskBundle"/> knows), runc's root
/// per namespace and the shim's socket. The bundle directory is the task's
/// whole on-disk identity: daemon start-up rediscovers tasks by scanning
/// STATE/tasks/NS/ID, so nothing about a live task may live only in memory.
/// </summary>
public sealed class StateLayout(string stateRoot)
{
    public string StateRoot { get; } = stateRoot;

    public string TasksRoot => Path.Combine(StateRoot, "tasks");

    public TaskBundle Bundle(string @namespace, string id) => new(Path.Combine(TasksRoot, @namespace, id));

    /// <summary>runc's --root, one per namespace so equal ids in two namespaces do not collide.</summary>
    public string RuntimeRoot(string @namespace) => Path.Combine(StateRoot, "runc", @namespace);

    /// <summary>
    /// BUNDLE/shim.sock, unless that path is too long for a unix socket (ids and
    /// namespaces may be 76 characters each); then a fixed-length name derived
    /// from (namespace, id) under STATE/s, so it can always be found again.
    /// </summary>
    public string ShimSocket(string @namespace, string id)
    {
        var inBundle = Bundle(@namespace, id).DefaultSocket;
        if (TaskBundle.FitsSocketPath(inBundle))
            return inBundle;
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{@namespace}/{id}"));
        return Path.Combine(ShortSocketDirectory, Convert.ToHexStringLower(hash)[..32] + ".sock");
    }

    public string ShortSocketDirectory => Path.Combine(StateRoot, "s");
}
