using System.Collections.Concurrent;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Containerd.Daemon.Images.Distribution;

/// <summary>
/// One HttpClient per TLS trust setting (system, skip_verify, extra CAs), shared by
/// all pulls so connections are pooled. Redirects are not followed by the handler:
/// the session follows them itself so that Authorization never reaches another host.
/// </summary>
public sealed class RegistryHttpClients : IDisposable
{
    private readonly ConcurrentDictionary<string, HttpClient> _clients = new(StringComparer.Ordinal);
    private readonly TimeSpan _connectTimeout;

    public RegistryHttpClients(TimeSpan? connectTimeout = null) => _connectTimeout = connectTimeout ?? TimeSpan.FromSeconds(30);

    public HttpClient For(RegistryEndpoint endpoint)
    {
        var key = (endpoint.SkipVerify ? "skip|" : "verify|") + string.Join('|', endpoint.CaFiles);
        return _clients.GetOrAdd(key, _ => Create(endpoint.SkipVerify, endpoint.CaFiles));
    }

    public void Dispose()
    {
        foreach (var client in _clients.Values)
            client.Dispose();
        _clients.Clear();
    }

    private HttpClient Create(bool skipVerify, IReadOnlyList<string> caFiles)
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            // Blobs are stored exactly as served: their digest is of the compressed bytes.
            AutomaticDecompression = System.Net.DecompressionMethods.None,
            ConnectTimeout = _connectTimeout,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
            UseCookies = false,
            // HTTP(S)_PROXY / NO_PROXY are honoured as containerd's ProxyFromEnvironment does; loopback always bypasses them.
            UseProxy = true,
        };
        if (skipVerify)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
        }
        else if (caFiles.Count > 0)
        {
            var roots = LoadCertificates(caFiles);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                errors == SslPolicyErrors.None || TrustedBy(roots, certificate, errors);
        }
        // Timeouts come from the caller's token and the connect timeout: a layer may take minutes.
        return new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    private static X509Certificate2Collection LoadCertificates(IReadOnlyList<string> files)
    {
        var roots = new X509Certificate2Collection();
        foreach (var file in files)
        {
            try
            {
                roots.ImportFromPemFile(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
            {
                throw new RegistryException(RegistryErrorKind.Tls, $"cannot read CA file {file}: {e.Message}", innerException: e);
            }
        }
        return roots;
    }

    // The chain is rebuilt against the configured CAs only; a name mismatch is never forgiven.
    private static bool TrustedBy(X509Certificate2Collection roots, X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0)
            return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
    }
}
