using System.Net.Sockets;
using Containerd.Daemon.Native;

namespace Containerd.Daemon.Hosting;

/// <summary>Makes the API socket's path usable without ever stealing it from a live daemon.</summary>
public static class SocketGuard
{
    private const UnixFileMode ParentMode =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    /// <summary>Returns null when the path is ready for binding, else why the daemon must not start.</summary>
    public static async Task<string?> PrepareAsync(string address, CancellationToken cancellationToken)
    {
        var parent = Path.GetDirectoryName(address);
        if (!string.IsNullOrEmpty(parent) && !Directory.Exists(parent))
            Directory.CreateDirectory(parent, ParentMode);

        if (!File.Exists(address) && !Directory.Exists(address))
            return null;
        if (!FileType.IsSocket(address))
            return $"{address} exists and is not a socket; refusing to replace it";

        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            await probe.ConnectAsync(new UnixDomainSocketEndPoint(address), timeout.Token).ConfigureAwait(false);
            return $"another daemon is already serving on {address}";
        }
        catch (SocketException)
        {
            // Nobody listens: a stale socket from a daemon that did not clean up.
            File.Delete(address);
            return null;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return $"something holds {address} but does not accept connections; refusing to replace it";
        }
    }
}
