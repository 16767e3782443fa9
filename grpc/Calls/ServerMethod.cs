namespace Containerd.LeanGrpc.Calls;

/// <summary>One registered method, with its request and response types closed over.</summary>
internal abstract class ServerMethod
{
    /// <summary>Runs the handler for a call whose single request message has arrived; the outcome goes to the call.</summary>
    public abstract Task HandleAsync(ServerCall call, byte[] request);
}
