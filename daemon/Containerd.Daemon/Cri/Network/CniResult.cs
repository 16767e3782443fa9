using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Containerd.Daemon.Cri.Network;

/// <summary>
/// The parts of a CNI ADD result the runtime uses: the interfaces and the IPs,
/// read from any spec version a plugin may print (0.1.0/0.2.0 "ip4"/"ip6";
/// 0.3.x, 0.4.0 and 1.0.0 "interfaces"/"ips").
/// </summary>
public sealed class CniResult
{
    private CniResult(JsonObject json, IReadOnlyList<CniResultInterface> interfaces, IReadOnlyList<CniResultIp> ips)
    {
        Json = json;
        Interfaces = interfaces;
        Ips = ips;
    }

    /// <summary>The result as the plugin printed it (what the next plugin gets as prevResult).</summary>
    public JsonObject Json { get; }

    public IReadOnlyList<CniResultInterface> Interfaces { get; }

    public IReadOnlyList<CniResultIp> Ips { get; }

    /// <summary>Parses a plugin's stdout. Throws <see cref="FormatException"/> saying what is wrong.</summary>
    public static CniResult Parse(string text)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(text);
        }
        catch (JsonException e)
        {
            throw new FormatException($"not JSON: {e.Message}", e);
        }
        if (node is not JsonObject json)
            throw new FormatException("not a JSON object");

        var interfaces = new List<CniResultInterface>();
        if (json["interfaces"] is JsonArray interfaceArray)
        {
            foreach (var item in interfaceArray)
            {
                if (item is not JsonObject entry)
                    throw new FormatException("an entry of \"interfaces\" is not an object");
                interfaces.Add(new CniResultInterface(String(entry, "name") ?? "", String(entry, "mac"), String(entry, "sandbox")));
            }
        }

        var ips = new List<CniResultIp>();
        if (json["ips"] is JsonArray ipArray)
        {
            foreach (var item in ipArray)
            {
                if (item is not JsonObject entry)
                    throw new FormatException("an entry of \"ips\" is not an object");
                int? index = null;
                if (entry["interface"] is JsonValue value)
                {
                    if (!value.TryGetValue(out int i) || i < 0 || i >= interfaces.Count)
                        throw new FormatException($"ip {String(entry, "address")} names interface {value.ToJsonString()}, which the result does not have");
                    index = i;
                }
                ips.Add(Ip(String(entry, "address"), String(entry, "gateway"), index));
            }
        }
        // 0.1.0 and 0.2.0: one address per family, no interfaces.
        foreach (var family in new[] { "ip4", "ip6" })
        {
            if (json[family] is JsonObject legacy)
                ips.Add(Ip(String(legacy, "ip"), String(legacy, "gateway"), null));
        }
        return new CniResult(json, interfaces, ips);
    }

    /// <summary>
    /// The pod's addresses on <paramref name="interfaceName"/>: the IPs whose
    /// interface is that one, or, when the result ties no IP to any interface
    /// (older versions, some IPAM-only plugins), every IP. Ordered as containerd
    /// picks the pod IP: the first IPv4 address first, the rest in result order.
    /// </summary>
    public IReadOnlyList<PodIp> PodIps(string interfaceName)
    {
        var chosen = Ips.Where(ip => ip.Interface is int i && Interfaces[i].Name == interfaceName).ToList();
        if (chosen.Count == 0 && Ips.All(ip => ip.Interface is null))
            chosen = Ips.ToList();
        var pod = chosen.Select(ip => ip.ToPodIp()).ToList();
        var firstV4 = pod.FindIndex(ip => ip.IsIPv4);
        if (firstV4 > 0)
        {
            var v4 = pod[firstV4];
            pod.RemoveAt(firstV4);
            pod.Insert(0, v4);
        }
        return pod;
    }

    private static CniResultIp Ip(string? cidr, string? gateway, int? index)
    {
        if (string.IsNullOrEmpty(cidr))
            throw new FormatException("an IP entry has no address");
        var slash = cidr.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0 || !IPAddress.TryParse(cidr.AsSpan(0, slash), out var address)
            || !int.TryParse(cidr.AsSpan(slash + 1), out var prefix) || prefix < 0
            || prefix > (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128))
            throw new FormatException($"\"{cidr}\" is not an address with a prefix length (CIDR)");
        return new CniResultIp(address, prefix, string.IsNullOrEmpty(gateway) ? null : gateway, index);
    }

    private static string? String(JsonObject entry, string key) =>
        entry[key] is JsonValue value && value.TryGetValue(out string? text) ? text : null;
}
