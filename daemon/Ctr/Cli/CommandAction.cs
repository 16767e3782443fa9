using System.CommandLine;
using System.Net.Http;
using System.Net.Sockets;
using Containerd.Ctr.Client;
using Grpc.Core;

namespace Containerd.Ctr.Cli;

/// <summary>
/// Runs a command body with a daemon connection and turns every failure into
/// one line on stderr and exit status 1: users see the daemon's message, never a stack trace.
/// </summary>
public static class CommandAction
{
    public delegate Task<int> Body(ParseResult parseResult, DaemonClient client, CancellationToken cancellationToken);

    public static void Set(Command command, GlobalOptions globals, Body body) =>
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            string address = parseResult.GetValue(globals.Address) ?? GlobalOptions.DefaultAddress;
            try
            {
                using var client = globals.Connect(parseResult);
                return await body(parseResult, client, cancellationToken);
            }
            catch (Exception e)
            {
                await Console.Error.WriteLineAsync($"ctr: {Describe(e, address)}");
                return e is CtrException ctr ? ctr.ExitCode : 1;
            }
        });

    public static string Describe(Exception exception, string address) => exception switch
    {
        RpcException rpc when IsConnectionFailure(rpc, out var reason) =>
            $"cannot connect to containerd at {address}: {reason} (is the daemon running?)",
        RpcException rpc => $"{(string.IsNullOrEmpty(rpc.Status.Detail) ? "request failed" : rpc.Status.Detail)} ({rpc.StatusCode})",
        CtrException ctr => ctr.Message,
        OperationCanceledException => "interrupted",
        _ => exception.Message,
    };

    /// <summary>The call failed because the daemon could not be reached (not because it refused the request).</summary>
    public static bool IsConnectionFailure(RpcException rpc) => IsConnectionFailure(rpc, out _);

    private static bool IsConnectionFailure(RpcException rpc, out string reason)
    {
        reason = "";
        if (rpc.StatusCode != StatusCode.Unavailable)
            return false;
        for (Exception? e = rpc.Status.DebugException; e is not null; e = e.InnerException)
        {
            if (e is SocketException socket)
            {
                reason = socket.SocketErrorCode switch
                {
                    SocketError.AddressNotAvailable or SocketError.AddressFamilyNotSupported => "no such socket",
                    SocketError.ConnectionRefused => "connection refused",
                    _ => socket.Message,
                };
                return true;
            }
            if (e is HttpRequestException http && http.HttpRequestError == HttpRequestError.ConnectionError)
                reason = http.Message;
            // The daemon died with the call in flight: the connection closed before the response came.
            if (e is HttpRequestException { HttpRequestError: HttpRequestError.ResponseEnded } or HttpIOException { HttpRequestError: HttpRequestError.ResponseEnded })
                reason = "the connection closed before the response came";
        }
        return reason.Length > 0;
    }
}
