using System.Security.Cryptography;
using System.Text;

namespace Containerd.Daemon.Shims;

/// <summary>
/// Where a task's runtime files live under --state. The bundle directory is the
/// task's whole on-disk identity: daemon start-up rediscovers tasks by scanning
/// STATE/tasks/NS/ID, so nothing about a live task may live only in memory.
/// </summary>
public sealed class StateLayout(string stateRoot)
{
    public const string ConfigFile = "config.json";
    public const string SocketFile = "shim.sock";
    /// <summary>The shim's pid, written by the daemon right after spawning it.</summary>
    public const string ShimPidFile = "shim.pid";
    /// <summary>The OCI runtime binary the task was created with, for cleanup by a later daemon.</summary>
    public const string RuntimeFile = "runtime";
    /// <summary>The last event sequence the daemon published and acknowledged.</summary>
    public const string EventSequenceFile = "events.seq";
    public const string RootfsDirectory = "rootfs";
    /// <summary>The init's pid as runc wrote it (the shim's --pid-file); it outlives a killed shim.</summary>
    public const string InitPidFile = "init.pid";

    // sun_path holds 108 bytes including the terminating NUL.
    private const int MaxSocketPath = 107;

    public string StateRoot { get; } = stateRoot;

    public string TasksRoot => Path.Combine(StateRoot, "tasks");

    public string Bundle(string @namespace, string id) => Path.Combine(TasksRoot, @namespace, id);

    /// <summary>runc's --root, one per namespace so equal ids in two namespaces do not collide.</summary>
    public string RuntimeRoot(string @namespace) => Path.Combine(StateRoot, "runc", @namespace);

    /// <summary>
    /// BUNDLE/shim.sock, unless that path is too long for a unix socket (ids and
    /// namespaces may be 76 characters each); then a fixed-length name derived
    /// from (namespace, id) under STATE/s, so it can always be found again.
    /// </summary>
    public string ShimSocket(string @namespace, string id)
    {
        var inBundle = Path.Combine(Bundle(@namespace, id), SocketFile);
        if (Encoding.UTF8.GetByteCount(inBundle) <= MaxSocketPath)
            return inBundle;
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{@namespace}/{id}"));
        return Path.Combine(ShortSocketDirectory, Convert.ToHexStringLower(hash)[..32] + ".sock");
    }

    public string ShortSocketDirectory => Path.Combine(StateRoot, "s");
}
