namespace Containerd.Shared.Identifiers;

public static class Namespaces
{
    /// <summary>The gRPC metadata key clients select a namespace with.</summary>
    public const string Header = "containerd-namespace";

    public const string Default = "default";
}
