using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Containerd.Daemon.Images.Distribution;

/// <summary>
/// The HTTP side of one pull: one repository of one registry, its endpoints tried in
/// order, authentication (bearer tokens from the challenge's realm, or basic),
/// redirects, and the mapping of every failure to a <see cref="RegistryException"/>
/// that names the registry, repository, reference and endpoint.
/// </summary>
public sealed class RegistrySession
{
    /// <summary>Manifests and indexes larger than this are refused (containerd's limit too): they are read into memory.</summary>
    public const int MaxManifestBytes = 4 << 20;

    private const int MaxRedirects = 10;

    private readonly RegistryHttpClients _clients;
    private readonly RegistryCredentials? _credentials;
    private readonly ILogger _logger;
    // Authorization header per endpoint authority and scope; a pull has one scope, but a
    // realm may name another in its challenge. Shared by the parallel blob downloads.
    private readonly ConcurrentDictionary<string, string> _authorization = new(StringComparer.Ordinal);

    public RegistrySession(ImageReference reference, IReadOnlyList<RegistryEndpoint> endpoints, RegistryHttpClients clients, RegistryCredentials? credentials, ILogger logger)
    {
        if (endpoints.Count == 0)
            throw new ArgumentException("no endpoints", nameof(endpoints));
        Reference = reference;
        Endpoints = endpoints;
        _clients = clients;
        _credentials = credentials;
        _logger = logger;
    }

    public ImageReference Reference { get; }

    public IReadOnlyList<RegistryEndpoint> Endpoints { get; }

    /// <summary>The scope a pull asks tokens for.</summary>
    public string Scope => $"repository:{Reference.Repository}:pull";

    private string Name => $"{Reference.Registry}/{Reference.Repository}";

    /// <summary>
    /// Fetches a manifest or index by tag or digest, whole, and verifies it: its sha256
    /// must equal <paramref name="expectedDigest"/> when given (a by-digest reference or an
    /// index entry), else the registry's Docker-Content-Digest when sent.
    /// </summary>
    public async Task<FetchedManifest> FetchManifestAsync(string reference, string? expectedDigest, long? expectedSize, CancellationToken cancellationToken)
    {
        var byDigest = expectedDigest is not null;
        var (response, endpoint) = await GetAsync($"{Reference.Repository}/manifests/{reference}", DistributionMediaTypes.ManifestAccept,
            requireResolve: !byDigest, what: $"manifest {Name}:{reference}", cancellationToken).ConfigureAwait(false);
        using (response)
        {
            var where = $"manifest {Name}:{reference} from {endpoint}";
            if (response.Content.Headers.ContentLength is > MaxManifestBytes)
                throw new RegistryException(RegistryErrorKind.InvalidManifest, $"{where}: {response.Content.Headers.ContentLength} bytes, larger than the {MaxManifestBytes}-byte limit");
            var body = await ReadLimitedAsync(response, MaxManifestBytes, where, cancellationToken).ConfigureAwait(false);
            var digest = Content.ContentDigest.FromHash(System.Security.Cryptography.SHA256.HashData(body));
            if (expectedDigest is not null && digest != expectedDigest)
                throw new RegistryException(RegistryErrorKind.DigestMismatch, $"{where}: content has digest {digest}, expected {expectedDigest}");
            if (expectedSize is { } size && size != body.Length)
                throw new RegistryException(RegistryErrorKind.DigestMismatch, $"{where}: {body.Length} bytes, expected {size}");
            if (response.Headers.TryGetValues("Docker-Content-Digest", out var headers) && headers.FirstOrDefault() is { Length: > 0 } header
                && header != digest && header.StartsWith(Content.ContentDigest.Algorithm + ":", StringComparison.Ordinal))
                throw new RegistryException(RegistryErrorKind.DigestMismatch, $"{where}: Docker-Content-Digest {header} differs from the body's digest {digest}");
            var mediaType = ManifestParser.MediaTypeOf(body, response.Content.Headers.ContentType?.MediaType, where);
            return new FetchedManifest(mediaType, digest, body);
        }
    }

    /// <summary>
    /// Opens a blob's body (a 2xx status checked); the caller disposes the response.
    /// With <paramref name="from"/> &gt; 0 it asks for the rest only (<c>Range: bytes=FROM-</c>):
    /// the answer is 206 when the registry honoured that, and may be a whole 200 when not.
    /// </summary>
    public async Task<HttpResponseMessage> OpenBlobAsync(string digest, long from, CancellationToken cancellationToken)
    {
        var (response, _) = await GetAsync($"{Reference.Repository}/blobs/{digest}", accept: null, requireResolve: false,
            what: $"blob {digest} of {Name}", cancellationToken, from).ConfigureAwait(false);
        return response;
    }

    /// <summary>
    /// GET from each endpoint in turn until one answers 2xx. As containerd's resolver, a
    /// 404 or an unreachable endpoint moves on to the next; any other failure is final.
    /// The first failure is reported when all fail (the mirror's 404 is rarely the news).
    /// </summary>
    private async Task<(HttpResponseMessage Response, RegistryEndpoint Endpoint)> GetAsync(
        string path, string? accept, bool requireResolve, string what, CancellationToken cancellationToken, long rangeFrom = 0)
    {
        RegistryException? first = null;
        var candidates = Endpoints.Where(e => !requireResolve || e.CanResolve).ToList();
        if (candidates.Count == 0)
            throw new RegistryException(RegistryErrorKind.NotFound, $"{what}: no endpoint of {Reference.Registry} has the \"resolve\" capability for a tag");
        foreach (var endpoint in candidates)
        {
            RegistryException current;
            try
            {
                var response = await SendAuthorizedAsync(endpoint, endpoint.Api(path), accept, rangeFrom, what, cancellationToken).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                    return (response, endpoint);
                using (response)
                {
                    current = await StatusFailureAsync(response, what, endpoint, cancellationToken).ConfigureAwait(false);
                    if (current.Kind != RegistryErrorKind.NotFound)
                        throw current;
                }
            }
            catch (RegistryException e) when (e.Kind is RegistryErrorKind.Unavailable && e.StatusCode is null && !cancellationToken.IsCancellationRequested)
            {
                current = e;
            }
            first ??= current;
            if (candidates.Count > 1)
                _logger.LogInformation("{What}: endpoint {Endpoint} failed ({Error}), trying the next", what, endpoint, current.Message);
        }
        throw first!;
    }

    /// <summary>Sends with the cached authorization; on 401 authenticates from the challenge and retries once.</summary>
    private async Task<HttpResponseMessage> SendAuthorizedAsync(RegistryEndpoint endpoint, Uri uri, string? accept, long rangeFrom, string what, CancellationToken cancellationToken)
    {
        var cacheKey = endpoint.Authority + " " + Scope;
        for (var attempt = 0; ; attempt++)
        {
            _authorization.TryGetValue(cacheKey, out var authorization);
            var response = await SendFollowingRedirectsAsync(endpoint, uri, accept, rangeFrom, authorization, what, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.Unauthorized || attempt > 0)
                return response;
            var challenges = response.Headers.TryGetValues("WWW-Authenticate", out var values)
                ? values.SelectMany(AuthChallenge.Parse).ToList()
                : [];
            response.Dispose();
            var header = await AuthenticateAsync(endpoint, challenges, what, cancellationToken).ConfigureAwait(false);
            _authorization[cacheKey] = header;
        }
    }

    private async Task<string> AuthenticateAsync(RegistryEndpoint endpoint, IReadOnlyList<AuthChallenge> challenges, string what, CancellationToken cancellationToken)
    {
        if (challenges.FirstOrDefault(c => c.IsBearer && c["realm"] is not null) is { } bearer)
            return "Bearer " + await FetchTokenAsync(endpoint, bearer, what, cancellationToken).ConfigureAwait(false);
        if (challenges.Any(c => c.IsBasic))
        {
            if (_credentials is null)
                throw new RegistryException(RegistryErrorKind.Unauthorized, $"{what} from {endpoint}: HTTP 401, the registry asks for basic authentication and no credentials were given", 401);
            return "Basic " + BasicValue(_credentials);
        }
        throw new RegistryException(RegistryErrorKind.Unauthorized,
            $"{what} from {endpoint}: HTTP 401 without a usable WWW-Authenticate challenge ({(challenges.Count == 0 ? "none" : string.Join(", ", challenges.Select(c => c.Scheme)))})", 401);
    }

    /// <summary>Docker's token protocol: GET realm?service=…&amp;scope=…, with basic auth when credentials are given.</summary>
    private async Task<string> FetchTokenAsync(RegistryEndpoint endpoint, AuthChallenge challenge, string what, CancellationToken cancellationToken)
    {
        var realm = challenge["realm"]!;
        if (!Uri.TryCreate(realm, UriKind.Absolute, out var realmUri) || realmUri.Scheme is not ("http" or "https"))
            throw new RegistryException(RegistryErrorKind.Unauthorized, $"{what} from {endpoint}: token realm \"{realm}\" is not an http(s) URL");
        var query = new StringBuilder(realmUri.Query.Length > 1 ? realmUri.Query[1..] + "&" : "");
        if (challenge["service"] is { } service)
            query.Append("service=").Append(Uri.EscapeDataString(service)).Append('&');
        // Our own scope always; the challenge's too when it names another (a registry may ask for more).
        var scopes = new List<string> { Scope };
        if (challenge["scope"] is { } challenged && challenged != Scope)
            scopes.AddRange(challenged.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        foreach (var scope in scopes.Distinct())
            query.Append("scope=").Append(Uri.EscapeDataString(scope)).Append('&');
        var tokenUri = new UriBuilder(realmUri) { Query = query.ToString().TrimEnd('&') }.Uri;

        using var request = new HttpRequestMessage(HttpMethod.Get, tokenUri);
        if (_credentials is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", BasicValue(_credentials));
        var tokenWhat = $"token for {what} from realm {realmUri.GetLeftPart(UriPartial.Path)}";
        using var response = await SendOnceAsync(_clients.For(endpoint), request, tokenWhat, endpoint, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            throw new RegistryException(RegistryErrorKind.Unauthorized,
                $"{tokenWhat}: HTTP {(int)response.StatusCode}: {(_credentials is null ? "anonymous access refused; credentials are needed" : $"credentials of user {_credentials.Username} refused")}", (int)response.StatusCode);
        if (!response.IsSuccessStatusCode)
            throw await StatusFailureAsync(response, tokenWhat, endpoint, cancellationToken).ConfigureAwait(false);
        var body = await ReadLimitedAsync(response, 1 << 20, tokenWhat, cancellationToken).ConfigureAwait(false);
        RegistryTokenJson? token;
        try
        {
            token = JsonSerializer.Deserialize(body, DistributionJsonContext.Default.RegistryTokenJson);
        }
        catch (JsonException e)
        {
            throw new RegistryException(RegistryErrorKind.Protocol, $"{tokenWhat}: answer is not JSON: {e.Message}", innerException: e);
        }
        var value = token?.Token is { Length: > 0 } t ? t : token?.AccessToken;
        if (string.IsNullOrEmpty(value))
            throw new RegistryException(RegistryErrorKind.Protocol, $"{tokenWhat}: answer has neither token nor access_token");
        _logger.LogDebug("got a bearer token for {Scope} from {Realm}", Scope, realmUri.GetLeftPart(UriPartial.Path));
        return value;
    }

    /// <summary>
    /// Follows 301/302/303/307/308 itself: a blob is often redirected to a storage host,
    /// and the registry's Authorization must not be sent there (it is a credential for the registry).
    /// </summary>
    private async Task<HttpResponseMessage> SendFollowingRedirectsAsync(
        RegistryEndpoint endpoint, Uri uri, string? accept, long rangeFrom, string? authorization, string what, CancellationToken cancellationToken)
    {
        var client = _clients.For(endpoint);
        var origin = endpoint.Authority;
        for (var hop = 0; ; hop++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            if (accept is not null)
                request.Headers.TryAddWithoutValidation("Accept", accept);
            if (rangeFrom > 0)
                request.Headers.Range = new RangeHeaderValue(rangeFrom, null);
            if (authorization is not null && uri.GetLeftPart(UriPartial.Authority) == origin)
                request.Headers.TryAddWithoutValidation("Authorization", authorization);
            var response = await SendOnceAsync(client, request, what, endpoint, cancellationToken).ConfigureAwait(false);
            if ((int)response.StatusCode is not (301 or 302 or 303 or 307 or 308) || response.Headers.Location is not { } location)
                return response;
            response.Dispose();
            if (hop >= MaxRedirects)
                throw new RegistryException(RegistryErrorKind.Protocol, $"{what} from {endpoint}: more than {MaxRedirects} redirects");
            uri = location.IsAbsoluteUri ? location : new Uri(uri, location);
            if (uri.Scheme is not ("http" or "https"))
                throw new RegistryException(RegistryErrorKind.Protocol, $"{what} from {endpoint}: redirect to a non-HTTP URL {uri.Scheme}:");
            _logger.LogDebug("{What}: redirected to {Host}", what, uri.GetLeftPart(UriPartial.Authority));
        }
    }

    /// <summary>One HTTP exchange (headers only); transport failures become Unavailable or Tls naming the endpoint.</summary>
    private static async Task<HttpResponseMessage> SendOnceAsync(HttpClient client, HttpRequestMessage request, string what, RegistryEndpoint endpoint, CancellationToken cancellationToken)
    {
        var target = request.RequestUri!.GetLeftPart(UriPartial.Authority);
        try
        {
            return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw TransportFailure(e, what, target, endpoint);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new RegistryException(RegistryErrorKind.Unavailable, $"{what}: {target} timed out", innerException: e);
        }
    }

    internal static RegistryException TransportFailure(HttpRequestException e, string what, string target, RegistryEndpoint endpoint)
    {
        var detail = e.InnerException?.Message is { Length: > 0 } inner && inner != e.Message ? $"{e.Message} ({inner})" : e.Message;
        return e.HttpRequestError switch
        {
            HttpRequestError.SecureConnectionError => new RegistryException(RegistryErrorKind.Tls,
                $"{what}: TLS with {target} failed: {detail}. For a self-signed registry set skip_verify or ca in its hosts.toml; for an http registry pull with plain HTTP"
                + (endpoint.SkipVerify ? " (skip_verify is on)" : ""), innerException: e),
            HttpRequestError.NameResolutionError => new RegistryException(RegistryErrorKind.Unavailable, $"{what}: cannot resolve the host of {target}: {detail}", innerException: e),
            HttpRequestError.ConnectionError => new RegistryException(RegistryErrorKind.Unavailable, $"{what}: cannot connect to {target}: {detail}", innerException: e),
            HttpRequestError.InvalidResponse or HttpRequestError.ResponseEnded when !target.StartsWith("https:", StringComparison.Ordinal)
                => new RegistryException(RegistryErrorKind.Unavailable, $"{what}: {target} did not answer HTTP ({detail}); is it an https registry?", innerException: e),
            _ => new RegistryException(RegistryErrorKind.Unavailable, $"{what}: request to {target} failed: {detail}", innerException: e),
        };
    }

    /// <summary>A non-2xx answer as an exception, with the registry's error code and message when the body has them.</summary>
    private async Task<RegistryException> StatusFailureAsync(HttpResponseMessage response, string what, RegistryEndpoint endpoint, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        var registryErrors = "";
        try
        {
            var body = await ReadLimitedAsync(response, 64 << 10, what, cancellationToken).ConfigureAwait(false);
            if (body.Length > 0 && JsonSerializer.Deserialize(body, DistributionJsonContext.Default.RegistryErrorsJson)?.Errors is { Count: > 0 } errors)
                registryErrors = ": " + string.Join("; ", errors.Select(e => $"{e.Code}: {e.Message}"));
        }
        catch (Exception e) when (e is JsonException or RegistryException)
        {
            // The body is only decoration for the message; the status decides.
        }
        var kind = status switch
        {
            404 => RegistryErrorKind.NotFound,
            401 or 403 => RegistryErrorKind.Unauthorized,
            429 or >= 500 => RegistryErrorKind.Unavailable,
            _ => RegistryErrorKind.Protocol,
        };
        var after = status == 401 ? (_credentials is null ? " (anonymous; credentials may be needed)" : $" after authenticating as {_credentials.Username}") : "";
        return new RegistryException(kind, $"{what} from {endpoint}: HTTP {status} {response.ReasonPhrase}{after}{registryErrors}", status);
    }

    private static async Task<byte[]> ReadLimitedAsync(HttpResponseMessage response, int limit, string what, CancellationToken cancellationToken)
    {
        try
        {
            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                using var buffer = new MemoryStream();
                var chunk = new byte[16 << 10];
                int read;
                while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    if (buffer.Length + read > limit)
                        throw new RegistryException(RegistryErrorKind.InvalidManifest, $"{what}: larger than the {limit}-byte limit");
                    buffer.Write(chunk, 0, read);
                }
                return buffer.ToArray();
            }
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            throw new RegistryException(RegistryErrorKind.Unavailable, $"{what}: connection broke while reading the answer: {e.Message}", innerException: e);
        }
    }

    private static string BasicValue(RegistryCredentials credentials) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{credentials.Username}:{credentials.Password}"));
}
