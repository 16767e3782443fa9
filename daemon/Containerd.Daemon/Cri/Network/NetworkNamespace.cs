using System.Runtime.InteropServices;
using Containerd.Shared.Native;

namespace Containerd.Daemon.Cri.Network;

/// <summary>
/// Persistent named network namespaces for pod sandboxes, made the way
/// containerd's pkg/netns makes them: an empty file <c>DIR/cni-UUID</c> with a
/// new network namespace bind-mounted onto it, so the namespace lives (and CNI
/// plugins can enter it by path) with no process inside it.
/// </summary>
public static class NetworkNamespace
{
    /// <summary>containerd's (and iproute2's) directory of named network namespaces.</summary>
    public const string DefaultDirectory = "/var/run/netns";

    /// <summary>
    /// Creates a new network namespace and returns its path,
    /// <c><paramref name="directory"/>/cni-&lt;uuid&gt;</c> (the directory is created if missing).
    /// Throws <see cref="IOException"/> naming the path and the failing call; leaves nothing behind then.
    /// </summary>
    public static string Create(string directory = DefaultDirectory)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "cni-" + Guid.NewGuid().ToString("D"));
        // CreateNew: a name that somehow exists already is an error, never a namespace shared by two pods.
        using (new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
        }

        string? error = null;
        // unshare(CLONE_NEWNET) moves the calling *thread* into the new namespace, and
        // nothing moves it back: a pool thread would then run later, unrelated work (sockets
        // the daemon opens, registry pulls) inside the pod's network. So the work runs on a
        // thread of its own that ends right after the bind mount: its OS thread exits with
        // it (.NET threads are 1:1), and the namespace lives on through the mount alone.
        var thread = new Thread(() => error = UnshareAndBind(path))
        {
            IsBackground = true,
            Name = "netns create",
        };
        thread.Start();
        thread.Join();

        if (error is not null)
        {
            TryDelete(path);
            throw new IOException($"cannot create network namespace {path}: {error}");
        }
        return path;
    }

    /// <summary>
    /// Unmounts and deletes the namespace file. Idempotent: an absent file, or a
    /// file no longer mounted, is fine. Throws <see cref="IOException"/> naming the
    /// path when the unmount or the delete fails.
    /// </summary>
    public static void Remove(string path)
    {
        if (!File.Exists(path))
            return;
        // Detach each mount stacked on the file (normally one) until the file is a plain file.
        for (var i = 0; i < 16; i++)
        {
            if (Libc.Umount2(path, Libc.MNT_DETACH) == 0)
                continue;
            var errno = Libc.LastError;
            if (errno is NetnsNative.EINVAL or NetnsNative.ENOENT)
                break;
            throw new IOException($"cannot unmount network namespace {path}: {Libc.ErrorText(errno)}");
        }
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot remove network namespace {path}: {e.Message}", e);
        }
    }

    /// <summary>True when <paramref name="path"/> is a mounted network namespace (a file on nsfs).</summary>
    public static bool Exists(string path) =>
        File.Exists(path) && NetnsNative.FileSystemType(path) == NetnsNative.NSFS_MAGIC;

    private static string? UnshareAndBind(string path)
    {
        if (NetnsNative.Unshare(NetnsNative.CLONE_NEWNET) != 0)
            return "unshare(CLONE_NEWNET): " + Marshal.GetLastPInvokeErrorMessage();
        // thread-self, not self: /proc/self/ns/net is the main thread's namespace.
        if (NetnsNative.Mount("/proc/thread-self/ns/net", path, "none", NetnsNative.MS_BIND, null) != 0)
            return "bind mount of /proc/thread-self/ns/net: " + Marshal.GetLastPInvokeErrorMessage();
        return null;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The file was created by us a moment ago and is not mounted; nothing else can be done.
        }
    }
}
