using Containerd.Shared.Native;
using Runtime.V1;

namespace Containerd.Daemon.Cri.Sandboxes;

/// <summary>
/// The host files a sandbox gives its containers, in one layout: under the CRI
/// root, <c>sandboxes/ID/{hostname,hosts,resolv.conf}</c>; under the CRI state,
/// <c>sandboxes/ID/shm</c>, a tmpfs the pod's containers share as /dev/shm
/// (as containerd does, so the pod's shared memory outlives none of them and
/// lives in no container's rootfs).
/// </summary>
public sealed class SandboxFileLayout(string criRoot, string criState)
{
    private const ulong MsNosuid = 2, MsNodev = 4, MsNoexec = 8;
    private const string ShmOptions = "mode=1777,size=65536k";

    public string Directory(string id) => Path.Combine(criRoot, "sandboxes", id);

    public string HostnameFile(string id) => Path.Combine(Directory(id), "hostname");

    public string HostsFile(string id) => Path.Combine(Directory(id), "hosts");

    public string ResolvConf(string id) => Path.Combine(Directory(id), "resolv.conf");

    public string StateDirectory(string id) => Path.Combine(criState, "sandboxes", id);

    public string Shm(string id) => Path.Combine(StateDirectory(id), "shm");

    /// <summary>Writes hostname, hosts and resolv.conf, and mounts the shm unless the pod uses the host's IPC.</summary>
    public void Create(string id, PodSandboxConfig config, string hostname)
    {
        System.IO.Directory.CreateDirectory(Directory(id));
        File.WriteAllText(HostnameFile(id), hostname + "\n");
        File.Copy(File.Exists("/etc/hosts") ? "/etc/hosts" : "/dev/null", HostsFile(id), overwrite: true);
        File.WriteAllText(ResolvConf(id), ResolvConfText(config.DnsConfig));
        if (!SandboxNamespaces.HostIpc(config))
        {
            System.IO.Directory.CreateDirectory(Shm(id));
            if (Libc.Mount("shm", Shm(id), "tmpfs", MsNosuid | MsNodev | MsNoexec, ShmOptions) != 0)
                throw new IOException($"cannot mount the shm of sandbox {id} at {Shm(id)}: {Libc.ErrorText(Libc.LastError)}");
        }
    }

    /// <summary>Unmounts the shm (if mounted) and removes both directories; what is absent is fine.</summary>
    public void Remove(string id)
    {
        UnmountShm(id);
        DeleteTree(StateDirectory(id));
        DeleteTree(Directory(id));
    }

    /// <summary>The shm goes when the sandbox stops: its containers are gone by then.</summary>
    public void UnmountShm(string id)
    {
        if (MountTable.DetachAllUnder(Shm(id)) is { Count: > 0 } left)
            throw new IOException($"cannot unmount the shm of sandbox {id}: still mounted: {string.Join(", ", left)}");
    }

    /// <summary>
    /// The pod's resolv.conf: what the kubelet's DNS config says, as containerd writes it;
    /// without one, the host's.
    /// </summary>
    public static string ResolvConfText(DNSConfig? dns)
    {
        if (dns is null || (dns.Servers.Count == 0 && dns.Searches.Count == 0 && dns.Options.Count == 0))
            return File.Exists("/etc/resolv.conf") ? File.ReadAllText("/etc/resolv.conf") : "";
        var text = new System.Text.StringBuilder();
        if (dns.Searches.Count > 0)
            text.Append("search ").AppendJoin(' ', dns.Searches).Append('\n');
        foreach (var server in dns.Servers)
            text.Append("nameserver ").Append(server).Append('\n');
        if (dns.Options.Count > 0)
            text.Append("options ").AppendJoin(' ', dns.Options).Append('\n');
        return text.ToString();
    }

    private static void DeleteTree(string directory)
    {
        try
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
