using Tomlyn.Parsing;
using Tomlyn.Syntax;

namespace Containerd.Daemon.Images.Distribution;

/// <summary>
/// Where each registry is reached: containerd's <c>hosts.toml</c> scheme. The
/// daemon's <c>registry.config_path</c> names a directory holding
/// <c>REGISTRY/hosts.toml</c> (e.g. <c>certs.d/127.0.0.1:5000/hosts.toml</c>,
/// <c>certs.d/docker.io/hosts.toml</c>; <c>_default/hosts.toml</c> for any other):
/// <code>
/// server = "https://registry.example"      # the upstream, tried last
/// skip_verify = true                       # for the server
/// ca = "/etc/ssl/registry-ca.pem"          # or a list of files
/// [host."http://127.0.0.1:5000"]           # mirrors, tried first, in file order
///   capabilities = ["pull", "resolve"]
///   skip_verify = false
///   ca = ["/path/ca.pem"]
/// </code>
/// Files are read at each pull, so an edit needs no restart (as containerd's config_path).
/// Without a file, a registry is <c>https://REGISTRY</c> (<c>http://</c> with plain HTTP),
/// docker.io being <c>https://registry-1.docker.io</c>.
/// </summary>
public sealed class RegistryHosts(string? configDirectory)
{
    public const string HostsFileName = "hosts.toml";
    public const string DefaultDirectory = "_default";

    public string? ConfigDirectory { get; } = string.IsNullOrEmpty(configDirectory) ? null : configDirectory;

    /// <summary>The endpoints to try for <paramref name="registry"/>, in order.</summary>
    public IReadOnlyList<RegistryEndpoint> Resolve(string registry, bool plainHttp)
    {
        if (ConfigDirectory is not null)
        {
            foreach (var directory in new[] { registry, DefaultDirectory })
            {
                // The registry name was validated by ImageReference (host[:port], no '/'), so it cannot leave the directory.
                var file = Path.Combine(ConfigDirectory, directory, HostsFileName);
                string text;
                try
                {
                    text = File.ReadAllText(file);
                }
                catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
                {
                    continue;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new RegistryException(RegistryErrorKind.InvalidReference, $"cannot read {file}: {e.Message}", innerException: e);
                }
                return Parse(registry, text, file, plainHttp);
            }
        }
        return [DefaultEndpoint(registry, plainHttp)];
    }

    /// <summary>The upstream of a registry with no hosts.toml.</summary>
    public static RegistryEndpoint DefaultEndpoint(string registry, bool plainHttp) =>
        new(new Uri($"{(plainHttp ? "http" : "https")}://{(registry == ImageReference.DockerHub ? "registry-1.docker.io" : registry)}"), false, []);

    /// <summary>Parses one hosts.toml: the [host."…"] mirrors in file order, then the server.</summary>
    public static IReadOnlyList<RegistryEndpoint> Parse(string registry, string text, string sourceName, bool plainHttp)
    {
        var document = SyntaxParser.Parse(text, sourceName, validate: true);
        foreach (var diagnostic in document.Diagnostics)
        {
            if (diagnostic.Kind == DiagnosticMessageKind.Error)
                throw Invalid(sourceName, diagnostic.Span, diagnostic.Message);
        }

        var server = DefaultEndpoint(registry, plainHttp);
        server = ApplyKeys(server, document.KeyValues, sourceName, isServer: true);
        var endpoints = new List<RegistryEndpoint>();
        foreach (var table in document.Tables)
        {
            var name = table.Name is { } key ? KeyParts(key) : [];
            if (table is TableArraySyntax || name.Count != 2 || name[0] != "host")
                throw Invalid(sourceName, table.Span, $"unknown table [{string.Join('.', name)}]: only [host.\"scheme://host:port\"] tables are read");
            var host = new RegistryEndpoint(ParseHostUri(name[1], plainHttp, sourceName, table.Span), false, []);
            endpoints.Add(ApplyKeys(host, table.Items, sourceName, isServer: false));
        }
        endpoints.Add(server);
        return endpoints;
    }

    private static RegistryEndpoint ApplyKeys(RegistryEndpoint endpoint, SyntaxList<KeyValueSyntax> items, string sourceName, bool isServer)
    {
        foreach (var item in items)
        {
            var key = item.Key is { } k ? string.Join('.', KeyParts(k)) : "";
            switch (key, item.Value)
            {
                case ("server", StringValueSyntax { Value: { } uri }) when isServer:
                    endpoint = endpoint with { BaseUri = ParseHostUri(uri, false, sourceName, item.Span) };
                    break;
                case ("skip_verify", BooleanValueSyntax flag):
                    endpoint = endpoint with { SkipVerify = flag.Value };
                    break;
                case ("ca", StringValueSyntax { Value: { } file }):
                    endpoint = endpoint with { CaFiles = [file] };
                    break;
                case ("ca", ArraySyntax array):
                    endpoint = endpoint with { CaFiles = [.. array.Items.Select(i => i.Value is StringValueSyntax { Value: { } f } ? f : throw Invalid(sourceName, i.Span, "ca: expected strings"))] };
                    break;
                case ("capabilities", ArraySyntax array):
                    var capabilities = array.Items.Select(i => i.Value is StringValueSyntax { Value: { } c } ? c : "").ToList();
                    endpoint = endpoint with { CanResolve = capabilities.Contains("resolve") };
                    break;
                case ("server" or "skip_verify" or "ca" or "capabilities", _):
                    throw Invalid(sourceName, item.Span, $"{key}: unexpected value type");
                default:
                    // containerd's other keys (client certificates, header, override_path) are not implemented; ignoring
                    // them silently would hide a configuration that does not do what it says.
                    throw Invalid(sourceName, item.Span, $"unsupported key \"{key}\" (supported: server, skip_verify, ca, capabilities)");
            }
        }
        return endpoint;
    }

    private static Uri ParseHostUri(string text, bool plainHttp, string sourceName, SourceSpan span)
    {
        // containerd accepts a bare host in [host."…"] and assumes https.
        var withScheme = text.Contains("://", StringComparison.Ordinal) ? text : $"{(plainHttp ? "http" : "https")}://{text}";
        if (!Uri.TryCreate(withScheme, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw Invalid(sourceName, span, $"\"{text}\" is not an http:// or https:// URL");
        if (uri.AbsolutePath is not ("/" or "/v2" or "/v2/"))
            throw Invalid(sourceName, span, $"\"{text}\": a path other than /v2 is not supported");
        return new Uri(uri.GetLeftPart(UriPartial.Authority));
    }

    private static List<string> KeyParts(KeySyntax key)
    {
        var parts = new List<string> { KeyPart(key.Key) };
        foreach (var dotted in key.DotKeys)
            parts.Add(KeyPart(dotted.Key));
        return parts;
    }

    private static string KeyPart(SyntaxNode? part) => part switch
    {
        BareKeySyntax { Key.Text: { } text } => text,
        StringValueSyntax { Value: { } text } => text,
        _ => "",
    };

    private static RegistryException Invalid(string sourceName, SourceSpan span, string message) =>
        new(RegistryErrorKind.InvalidReference, $"{sourceName}:{span.Start.Line + 1}: {message}");
}
