namespace Containerd.Daemon.Images.Distribution;

/// <summary>
/// One place to fetch a registry's content from: its base URI (scheme, host,
/// port; the API lives under <c>/v2/</c>), its TLS trust, and what it may be used for.
/// </summary>
/// <param name="BaseUri">e.g. <c>https://registry-1.docker.io</c> or <c>http://127.0.0.1:5000</c>.</param>
/// <param name="SkipVerify">Accept any server certificate (a self-signed test registry).</param>
/// <param name="CaFiles">PEM files of extra CAs trusted for this endpoint, besides the system's.</param>
/// <param name="CanResolve">May turn a tag into a digest (a mirror without "resolve" serves by digest only).</param>
public sealed record RegistryEndpoint(Uri BaseUri, bool SkipVerify, IReadOnlyList<string> CaFiles, bool CanResolve = true)
{
    /// <summary>scheme://host:port, the unit that credentials and tokens are bound to.</summary>
    public string Authority => BaseUri.GetLeftPart(UriPartial.Authority);

    public Uri Api(string relative) => new(BaseUri, "/v2/" + relative);

    public override string ToString() => Authority;
}
