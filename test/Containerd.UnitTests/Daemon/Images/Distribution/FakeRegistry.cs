using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Containerd.UnitTests.Daemon.Images.Distribution;

/// <summary>
/// A small in-process OCI distribution server (Kestrel on 127.0.0.1, a random port):
/// manifests by tag or digest, blobs, optional bearer or basic auth, and blobs
/// optionally redirected to "localhost" (another authority on the same server) to
/// check that Authorization does not follow a redirect. Real registries are the
/// integration tests' business.
/// </summary>
internal sealed class FakeRegistry : IAsyncDisposable
{
    public const string Token = "tok-123";

    private readonly WebApplication _app;

    private FakeRegistry(WebApplication app) => _app = app;

    public int Port { get; private set; }

    /// <summary>host:port, the registry part of references.</summary>
    public string Host => $"127.0.0.1:{Port}";

    /// <summary>"repo:tag" or "repo:sha256:…" → media type and body.</summary>
    public ConcurrentDictionary<string, (string MediaType, byte[] Body)> Manifests { get; } = new();

    public ConcurrentDictionary<string, byte[]> Blobs { get; } = new();

    /// <summary>"none", "bearer" or "basic".</summary>
    public string Auth { get; set; } = "none";

    public string? User { get; set; }

    public string? Password { get; set; }

    public bool RedirectBlobs { get; set; }

    /// <summary>Overrides the Docker-Content-Digest header (to test its check).</summary>
    public string? LieAboutDigest { get; set; }

    /// <summary>Answers a blob's Range request with the whole blob (200), as a registry without range support.</summary>
    public bool IgnoreRange { get; set; }

    /// <summary>When set, a blob body breaks off (connection aborted) after this many bytes of it.</summary>
    public long? BreakBlobsAfter { get; set; }

    /// <summary>Every blob request's "DIGEST RANGE" (RANGE empty without one) and the status answered.</summary>
    public ConcurrentQueue<(string Request, int Status)> BlobRequests { get; } = new();

    /// <summary>Every request: "PATH AUTHORIZATION".</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    public int TokenRequests;

    public static async Task<FakeRegistry> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var registry = new FakeRegistry(app);
        app.Run(registry.HandleAsync);
        await app.StartAsync();
        registry.Port = new Uri(app.Urls.First()).Port;
        return registry;
    }

    public static string DigestOf(byte[] body) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(body));

    /// <summary>Adds a manifest under its digest and, when given, a tag; returns its digest.</summary>
    public string AddManifest(string repository, string mediaType, byte[] body, string? tag = null)
    {
        var digest = DigestOf(body);
        Manifests[$"{repository}:{digest}"] = (mediaType, body);
        if (tag is not null)
            Manifests[$"{repository}:{tag}"] = (mediaType, body);
        return digest;
    }

    public string AddBlob(byte[] body)
    {
        var digest = DigestOf(body);
        Blobs[digest] = body;
        return digest;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "";
        var authorization = context.Request.Headers.Authorization.ToString();
        Requests.Enqueue($"{context.Request.Host} {path} {authorization}".TrimEnd());

        if (path == "/token")
        {
            Interlocked.Increment(ref TokenRequests);
            if (User is not null && authorization != "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{User}:{Password}")))
            {
                context.Response.StatusCode = 401;
                return;
            }
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync($$"""{"token":"{{Token}}","expires_in":300}""");
            return;
        }
        if (path.StartsWith("/storage/", StringComparison.Ordinal))
        {
            await WriteBlobAsync(context, path["/storage/".Length..]);
            return;
        }
        if (!path.StartsWith("/v2/", StringComparison.Ordinal))
        {
            context.Response.StatusCode = 404;
            return;
        }

        var rest = path["/v2/".Length..];
        var manifests = rest.LastIndexOf("/manifests/", StringComparison.Ordinal);
        var blobs = rest.LastIndexOf("/blobs/", StringComparison.Ordinal);
        var repository = manifests >= 0 ? rest[..manifests] : blobs >= 0 ? rest[..blobs] : "";
        if (!Authorized(context, authorization, repository))
            return;

        if (manifests >= 0)
        {
            var reference = rest[(manifests + "/manifests/".Length)..];
            if (!Manifests.TryGetValue($"{repository}:{reference}", out var manifest))
            {
                await ErrorAsync(context, 404, "MANIFEST_UNKNOWN", "manifest unknown");
                return;
            }
            context.Response.ContentType = manifest.MediaType;
            context.Response.Headers["Docker-Content-Digest"] = LieAboutDigest ?? DigestOf(manifest.Body);
            await context.Response.Body.WriteAsync(manifest.Body);
            return;
        }
        if (blobs >= 0)
        {
            var digest = rest[(blobs + "/blobs/".Length)..];
            if (RedirectBlobs)
            {
                // Another authority for the client: "localhost" instead of 127.0.0.1.
                context.Response.StatusCode = 307;
                context.Response.Headers.Location = $"http://localhost:{Port}/storage/{digest}";
                return;
            }
            await WriteBlobAsync(context, digest);
            return;
        }
        await ErrorAsync(context, 404, "NAME_UNKNOWN", "repository name not known to registry");
    }

    private bool Authorized(HttpContext context, string authorization, string repository)
    {
        switch (Auth)
        {
            case "bearer" when authorization != "Bearer " + Token:
                context.Response.StatusCode = 401;
                context.Response.Headers.WWWAuthenticate =
                    $"Bearer realm=\"http://{Host}/token\",service=\"fake-registry\",scope=\"repository:{repository}:pull\"";
                return false;
            case "basic" when authorization != "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{User}:{Password}")):
                context.Response.StatusCode = 401;
                context.Response.Headers.WWWAuthenticate = "Basic realm=\"fake-registry\"";
                return false;
            default:
                return true;
        }
    }

    private async Task WriteBlobAsync(HttpContext context, string digest)
    {
        var range = context.Request.Headers.Range.ToString();
        if (!Blobs.TryGetValue(digest, out var blob))
        {
            BlobRequests.Enqueue(($"{digest} {range}".TrimEnd(), 404));
            await ErrorAsync(context, 404, "BLOB_UNKNOWN", "blob unknown to registry");
            return;
        }
        long from = 0;
        if (!IgnoreRange && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-')
            && long.TryParse(range["bytes=".Length..^1], out var start))
        {
            if (start >= blob.Length)
            {
                BlobRequests.Enqueue(($"{digest} {range}", 416));
                context.Response.StatusCode = 416;
                return;
            }
            from = start;
            context.Response.StatusCode = 206;
            context.Response.Headers.ContentRange = $"bytes {from}-{blob.Length - 1}/{blob.Length}";
        }
        BlobRequests.Enqueue(($"{digest} {range}".TrimEnd(), context.Response.StatusCode));
        context.Response.ContentType = "application/octet-stream";
        context.Response.ContentLength = blob.Length - from;
        if (BreakBlobsAfter is { } cut && cut < blob.Length - from)
        {
            await context.Response.Body.WriteAsync(blob.AsMemory((int)from, (int)cut));
            await context.Response.Body.FlushAsync();
            context.Abort();
            return;
        }
        await context.Response.Body.WriteAsync(blob.AsMemory((int)from));
    }

    private static async Task ErrorAsync(HttpContext context, int status, string code, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync($$"""{"errors":[{"code":"{{code}}","message":"{{message}}"}]}""");
    }
}
