using System.Text.RegularExpressions;

namespace Containerd.Daemon.Images.Distribution;

/// <summary>
/// An image reference normalised as docker and containerd's <c>ctr</c> do:
/// <c>busybox</c> → <c>docker.io/library/busybox:latest</c>,
/// <c>localhost:5000/x</c> keeps its host, <c>x:tag@sha256:…</c> keeps both
/// (the digest wins when resolving). <see cref="Tag"/> is null only when a
/// digest is given without a tag.
/// </summary>
public sealed partial record ImageReference(string Registry, string Repository, string? Tag, string? Digest)
{
    public const string DockerHub = "docker.io";
    public const string DefaultTag = "latest";

    // Docker's reference grammar (distribution/reference), anchored.
    [GeneratedRegex(@"^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?$|^\[[a-fA-F0-9:]+\](?::[0-9]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex DomainRegex();

    [GeneratedRegex(@"^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*)*$", RegexOptions.CultureInvariant)]
    private static partial Regex PathRegex();

    [GeneratedRegex(@"^[\w][\w.-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex TagRegex();

    [GeneratedRegex(@"^[a-f0-9]{64}$", RegexOptions.CultureInvariant)]
    private static partial Regex HexIdRegex();

    /// <summary>What <c>GET /v2/NAME/manifests/REF</c> asks for: the digest when there is one, else the tag.</summary>
    public string ManifestReference => Digest ?? Tag ?? DefaultTag;

    /// <summary>Parses and normalises; throws <see cref="RegistryException"/> (InvalidReference) naming the problem.</summary>
    public static ImageReference Parse(string text)
    {
        if (!TryParse(text, out var reference, out var error))
            throw new RegistryException(RegistryErrorKind.InvalidReference, $"invalid image reference \"{text}\": {error}");
        return reference;
    }

    public static bool TryParse(string? text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ImageReference? reference, out string error)
    {
        reference = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "empty reference";
            return false;
        }
        if (text.Trim() != text)
        {
            error = "leading or trailing white space";
            return false;
        }
        if (HexIdRegex().IsMatch(text))
        {
            // Docker refuses these: a bare 64-hex name is ambiguous with an image id.
            error = "a 64-character hexadecimal string is an image id, not a repository name";
            return false;
        }

        var rest = text;
        string? digest = null;
        var at = rest.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            digest = rest[(at + 1)..];
            rest = rest[..at];
            if (!Content.ContentDigest.IsValid(digest))
            {
                error = $"digest \"{digest}\" is not sha256: followed by 64 lowercase hex digits";
                return false;
            }
        }

        string? tag = null;
        var colon = rest.LastIndexOf(':');
        if (colon > rest.LastIndexOf('/'))
        {
            tag = rest[(colon + 1)..];
            rest = rest[..colon];
            if (!TagRegex().IsMatch(tag))
            {
                error = $"tag \"{tag}\" is not [A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}}";
                return false;
            }
        }

        // The first component is a registry host only if it looks like one
        // (a dot, a port, or localhost) and has no upper case, as docker decides.
        string registry;
        string path;
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var first = slash < 0 ? "" : rest[..slash];
        if (slash >= 0 && (first.Contains('.') || first.Contains(':') || first == "localhost" || first.StartsWith('[')) && first.ToLowerInvariant() == first)
        {
            registry = first;
            path = rest[(slash + 1)..];
        }
        else
        {
            registry = DockerHub;
            path = rest;
        }
        if (registry == "index.docker.io")
            registry = DockerHub;
        if (registry == DockerHub && !path.Contains('/'))
            path = "library/" + path;

        if (!DomainRegex().IsMatch(registry))
        {
            error = $"registry host \"{registry}\" is not a valid host[:port]";
            return false;
        }
        if (path.Length == 0)
        {
            error = "empty repository name";
            return false;
        }
        if (!PathRegex().IsMatch(path))
        {
            error = path.ToLowerInvariant() != path && PathRegex().IsMatch(path.ToLowerInvariant())
                ? $"repository name \"{path}\" must be lowercase"
                : $"repository name \"{path}\" is not lowercase components ([a-z0-9] separated by '.', '_', '__' or '-') joined by '/'";
            return false;
        }
        if (registry.Length + 1 + path.Length > 255)
        {
            error = "name longer than 255 characters";
            return false;
        }

        if (tag is null && digest is null)
            tag = DefaultTag;
        reference = new ImageReference(registry, path, tag, digest);
        error = "";
        return true;
    }

    /// <summary>The full normalised name: <c>registry/repository[:tag][@digest]</c> (containerd's image name).</summary>
    public override string ToString() =>
        Registry + "/" + Repository + (Tag is null ? "" : ":" + Tag) + (Digest is null ? "" : "@" + Digest);
}
