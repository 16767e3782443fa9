using System.Text.Json;
using System.Text.Json.Nodes;

namespace Containerd.Daemon.Cri.Network;

/// <summary>
/// One file per attachment, <c>DIR/SANDBOX-IFNAME.json</c>, holding the network
/// configuration an ADD used and, once it succeeded, its result. It is written
/// before the first plugin runs, so whatever ADD did, TearDown deletes with the
/// same configuration (even if the conf dir has changed or emptied since) and
/// gives the plugins the ADD result as prevResult, as libcni's results cache does.
/// </summary>
public sealed class CniResultCache
{
    private readonly string _directory;

    public CniResultCache(string directory) => _directory = directory;

    /// <summary>What the cache holds for one attachment.</summary>
    /// <param name="Network">The configuration list ADD ran.</param>
    /// <param name="CniArgs">The CNI_ARGS it ran with.</param>
    /// <param name="CapabilityArgs">The runtimeConfig values it ran with (portmap needs the same at DEL to find its rules).</param>
    /// <param name="Result">The ADD result; null while ADD runs or when it failed.</param>
    public sealed record Entry(CniNetworkConfig Network, string CniArgs, IReadOnlyDictionary<string, JsonNode> CapabilityArgs, JsonObject? Result);

    public string PathOf(string containerId, string ifName) => Path.Combine(_directory, $"{containerId}-{ifName}.json");

    /// <summary>Records (atomically) that <paramref name="network"/> is being or was attached, with its result when known.</summary>
    public void Write(string containerId, string ifName, Entry attachment)
    {
        var (network, cniArgs, capabilityArgs, result) = attachment;
        var capabilities = new JsonObject();
        foreach (var (key, value) in capabilityArgs)
            capabilities[key] = value.DeepClone();
        Directory.CreateDirectory(_directory);
        var entry = new JsonObject
        {
            ["kind"] = "containerd-cs/cni-attachment/v1",
            ["containerId"] = containerId,
            ["ifName"] = ifName,
            ["networkName"] = network.Name,
            ["source"] = network.Source,
            ["config"] = JsonNode.Parse(network.Json),
            ["cniArgs"] = cniArgs,
            ["capabilityArgs"] = capabilities,
        };
        if (result is not null)
            entry["result"] = result.DeepClone();
        var path = PathOf(containerId, ifName);
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, entry.ToJsonString());
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>
    /// The entry, or null when there is none. An unreadable entry (a torn
    /// write cannot happen; a hand-edited file can) throws <see cref="FormatException"/> naming the file.
    /// </summary>
    public Entry? Read(string containerId, string ifName)
    {
        var path = PathOf(containerId, ifName);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        try
        {
            if (JsonNode.Parse(text) is not JsonObject entry || entry["config"] is not JsonObject config)
                throw new FormatException("no \"config\"");
            var source = entry["source"] is JsonValue s && s.TryGetValue(out string? name) ? name : path;
            var network = CniNetworkConfig.ParseList(config.ToJsonString(), source);
            var cniArgs = entry["cniArgs"] is JsonValue a && a.TryGetValue(out string? args) ? args : "";
            var capabilities = new Dictionary<string, JsonNode>(StringComparer.Ordinal);
            if (entry["capabilityArgs"] is JsonObject saved)
            {
                foreach (var (key, value) in saved)
                {
                    if (value is not null)
                        capabilities[key] = value.DeepClone();
                }
            }
            return new Entry(network, cniArgs, capabilities, entry["result"] as JsonObject);
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            throw new FormatException($"unreadable CNI cache entry {path}: {e.Message}", e);
        }
    }

    /// <summary>Deletes the entry; absent is fine.</summary>
    public void Delete(string containerId, string ifName) => File.Delete(PathOf(containerId, ifName));
}
