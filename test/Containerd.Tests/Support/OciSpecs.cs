using Containerd.Api.Types;
using Containerd.Shared.Oci;

namespace Containerd.Tests.Support;

/// <summary>Tests run the same default specs as <c>ctr run</c> and <c>ctr tasks exec</c>.</summary>
public static class OciSpecs
{
    public const string TypeUrl = SpecAny.RuntimeSpecType;
    public const string ProcessTypeUrl = SpecAny.ProcessSpecType;

    public static Mount RootfsBind(string dir) => new() { Type = "bind", Source = dir, Options = { "rbind", "rw" } };

    public static string Process(string[] args, string cwd = "/") => ProcessSpec.Create(args, [], cwd).ToJsonString();

    public static string Container(string hostname, string[] args) => RuntimeSpec.Create(hostname, args, [], "/").ToJsonString();

    /// <summary>
    /// A container that shares the host's pid namespace (no "pid" in
    /// linux.namespaces): its exec'd processes outlive its init.
    /// </summary>
    public static string ContainerSharingHostPid(string hostname, string[] args)
    {
        var spec = RuntimeSpec.Create(hostname, args, [], "/");
        var namespaces = spec["linux"]!["namespaces"]!.AsArray();
        var pid = namespaces.Single(n => (string?)n!["type"] == "pid");
        namespaces.Remove(pid);
        return spec.ToJsonString();
    }

    /// <summary>
    /// As <see cref="Container(string, string[])"/>, limited to <paramref name="memoryLimit"/> bytes (linux.resources.memory.limit),
    /// and to <paramref name="memorySwap"/> bytes of memory plus swap when given (linux.resources.memory.swap).
    /// </summary>
    public static string Container(string hostname, string[] args, long memoryLimit, long? memorySwap = null)
    {
        var spec = RuntimeSpec.Create(hostname, args, [], "/");
        var memory = new System.Text.Json.Nodes.JsonObject { ["limit"] = memoryLimit };
        if (memorySwap is { } swap)
            memory["swap"] = swap;
        spec["linux"]!["resources"]!["memory"] = memory;
        return spec.ToJsonString();
    }
}
