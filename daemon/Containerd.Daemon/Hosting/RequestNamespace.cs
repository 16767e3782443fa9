using Containerd.Shared.Identifiers;
using Grpc.Core;

namespace Containerd.Daemon.Hosting;

/// <summary>Reads and validates the namespace a client selected with the containerd-namespace header.</summary>
public static class RequestNamespace
{
    public static string Of(ServerCallContext context)
    {
        var value = context.RequestHeaders.GetValue(Namespaces.Header);
        // As containerd: a namespaced call without a namespace is refused, never
        // silently sent to "default" (ctr sends "default" itself).
        if (string.IsNullOrEmpty(value))
            throw RpcErrors.FailedPrecondition($"namespace is required: set the {Namespaces.Header} header");
        var problem = Identifier.Problem("namespace", value);
        if (problem is not null)
            throw RpcErrors.InvalidArgument(problem);
        return value;
    }

    /// <summary>Validates a container id from a request; ids become paths, so this comes first.</summary>
    public static string ValidId(string? id, string what = "container id")
    {
        var problem = Identifier.Problem(what, id);
        if (problem is not null)
            throw RpcErrors.InvalidArgument(problem);
        return id!;
    }
}
