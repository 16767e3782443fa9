using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Containerd.Daemon.Cri.Network;

/// <summary>
/// A CNI network configuration list: a name, a cniVersion and the plugins run
/// in order. A single-plugin .conf is wrapped into a list of one, as libcni's
/// ConfListFromConf does. Plugins are kept as JSON objects so that every key a
/// plugin knows (and we do not) reaches it unchanged.
/// </summary>
public sealed partial class CniNetworkConfig
{
    /// <summary>The CNI spec versions plugins of containernetworking-plugins 1.x accept.</summary>
    public static readonly IReadOnlySet<string> SupportedVersions =
        new HashSet<string>(StringComparer.Ordinal) { "0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0" };

    private CniNetworkConfig(string name, string cniVersion, IReadOnlyList<JsonObject> plugins, string source, string json)
    {
        Name = name;
        CniVersion = cniVersion;
        Plugins = plugins;
        Source = source;
        Json = json;
    }

    public string Name { get; }

    public string CniVersion { get; }

    /// <summary>The plugin configurations, each with at least a "type". Do not modify: clone before injecting.</summary>
    public IReadOnlyList<JsonObject> Plugins { get; }

    /// <summary>The file it came from, or a description of a built-in list.</summary>
    public string Source { get; }

    /// <summary>The list as JSON (a .conf already wrapped), for caching and verbose Status.</summary>
    public string Json { get; }

    /// <summary>The loopback network containerd (go-cni WithLoNetwork) attaches to <c>lo</c> in every pod.</summary>
    public static CniNetworkConfig Loopback { get; } = ParseList(
        """{"cniVersion":"0.3.1","name":"cni-loopback","plugins":[{"type":"loopback"}]}""", "built-in loopback network");

    /// <summary>Parses a file's text by its extension: .conflist is a list, .conf and .json a single plugin.</summary>
    public static CniNetworkConfig ParseFile(string path, string text) =>
        path.EndsWith(".conflist", StringComparison.Ordinal) ? ParseList(text, path) : ParseSingle(text, path);

    /// <summary>A configuration list (a .conflist). Throws <see cref="FormatException"/> saying what is wrong.</summary>
    public static CniNetworkConfig ParseList(string text, string source)
    {
        var root = ParseObject(text);
        var name = RequireName(root);
        var version = RequireVersion(root);
        if (root["plugins"] is not JsonArray plugins)
            throw new FormatException(root.ContainsKey("plugins") ? "\"plugins\" is not an array" : "no \"plugins\" list");
        if (plugins.Count == 0)
            throw new FormatException("\"plugins\" is empty");
        var list = new List<JsonObject>();
        for (var i = 0; i < plugins.Count; i++)
        {
            if (plugins[i] is not JsonObject plugin)
                throw new FormatException($"plugins[{i}] is not an object");
            if (plugin["type"] is not JsonValue type || !type.TryGetValue(out string? typeName) || string.IsNullOrEmpty(typeName))
                throw new FormatException($"plugins[{i}] has no \"type\"");
            RequirePluginType(typeName, $"plugins[{i}]");
            list.Add((JsonObject)plugin.DeepClone());
        }
        return new CniNetworkConfig(name, version, list, source, root.ToJsonString());
    }

    /// <summary>A single plugin's configuration (a .conf or .json), wrapped into a list of one.</summary>
    public static CniNetworkConfig ParseSingle(string text, string source)
    {
        var root = ParseObject(text);
        // Also catches a list saved as .conf: it has plugins but no type.
        if (root["type"] is not JsonValue type || !type.TryGetValue(out string? typeName) || string.IsNullOrEmpty(typeName))
            throw new FormatException(root.ContainsKey("plugins") ? "no \"type\" (a plugin list belongs in a .conflist file)" : "no \"type\"");
        RequirePluginType(typeName, "the plugin");
        var name = RequireName(root);
        var version = RequireVersion(root);
        var list = new JsonObject
        {
            ["cniVersion"] = version,
            ["name"] = name,
            ["plugins"] = new JsonArray(root.DeepClone()),
        };
        return new CniNetworkConfig(name, version, [(JsonObject)root.DeepClone()], source, list.ToJsonString());
    }

    /// <summary>libcni's ValidateContainerID and ValidateNetworkName form.</summary>
    public static bool IsValidName(string name) => NamePattern().IsMatch(name);

    private static JsonObject ParseObject(string text)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new FormatException($"not JSON: {e.Message}", e);
        }
        return node as JsonObject ?? throw new FormatException("not a JSON object");
    }

    private static string RequireName(JsonObject root)
    {
        if (root["name"] is not JsonValue value || !value.TryGetValue(out string? name) || string.IsNullOrEmpty(name))
            throw new FormatException("no \"name\"");
        if (!IsValidName(name))
            throw new FormatException($"invalid network name \"{name}\" (letters, digits, '_', '.', '-', starting with a letter or digit)");
        return name;
    }

    private static string RequireVersion(JsonObject root)
    {
        if (root["cniVersion"] is not JsonValue value || !value.TryGetValue(out string? version) || string.IsNullOrEmpty(version))
            throw new FormatException("no \"cniVersion\"");
        if (!SupportedVersions.Contains(version))
            throw new FormatException($"unsupported cniVersion \"{version}\" (supported: {string.Join(", ", SupportedVersions)})");
        return version;
    }

    private static void RequirePluginType(string type, string what)
    {
        // The type is a file name in the plugin directories: never a path.
        if (type.Contains('/', StringComparison.Ordinal) || type is "." or "..")
            throw new FormatException($"{what} has an invalid \"type\" \"{type}\"");
    }

    [GeneratedRegex("^[a-zA-Z0-9][a-zA-Z0-9_.\\-]*$")]
    private static partial Regex NamePattern();
}
