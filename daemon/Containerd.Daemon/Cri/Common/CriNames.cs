namespace Containerd.Daemon.Cri.Common;

/// <summary>The names the CRI adapter gives things, each in one place (containerd's where a client may look at them).</summary>
public static class CriNames
{
    /// <summary>The containerd namespace of everything the CRI makes, as in containerd.</summary>
    public const string Namespace = "k8s.io";

    /// <summary>Label on the containerd container record: <see cref="KindSandbox"/> or <see cref="KindContainer"/>.</summary>
    public const string KindLabel = "io.cri-containerd.kind";
    public const string KindSandbox = "sandbox";
    public const string KindContainer = "container";

    /// <summary>Label on a container's record naming its sandbox.</summary>
    public const string SandboxIdLabel = "io.cri-containerd.sandbox-id";

    /// <summary>The runtime handler the default runtime (runc) answers to; "" means it too.</summary>
    public const string DefaultRuntimeHandler = "runc";

    /// <summary>A new CRI id: 64 hex characters, as containerd makes them.</summary>
    public static string NewId() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    /// <summary>Unix nanoseconds now.</summary>
    public static long Now() => (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
}
