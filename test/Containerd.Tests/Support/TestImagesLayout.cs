using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Containerd.Tests.Support;

/// <summary>A content descriptor: what a manifest or an index points at.</summary>
public sealed record OciDescriptor(string MediaType, string Digest, long Size);

/// <summary>The media types the test images use (OCI, and docker's for the v2s2 image).</summary>
public static class OciMediaTypes
{
    public const string Index = "application/vnd.oci.image.index.v1+json";
    public const string Manifest = "application/vnd.oci.image.manifest.v1+json";
    public const string Config = "application/vnd.oci.image.config.v1+json";
    public const string LayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
    public const string LayerTar = "application/vnd.oci.image.layer.v1.tar";
    public const string LayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string DockerConfig = "application/vnd.docker.container.image.v1+json";
    public const string DockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";

    /// <summary>Every manifest type, for an Accept header that takes whatever the registry has.</summary>
    public static readonly IReadOnlyList<string> AllManifests = [Index, Manifest, DockerManifestList, DockerManifest];
}

/// <summary>
/// An OCI image layout directory (index.json + blobs/sha256), read and extended by hand for what
/// umoci cannot make (an index, an uncompressed layer, hostile tar entries), and pushed blob by
/// blob to a registry so that no tool rewrites what the tests must receive byte for byte.
/// </summary>
public sealed class OciLayout(string path)
{
    public const string RefNameAnnotation = "org.opencontainers.image.ref.name";

    public string Path { get; } = path;

    public static string Sha256(ReadOnlySpan<byte> content) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content));

    public string BlobPath(string digest) =>
        System.IO.Path.Combine(Path, "blobs", "sha256", digest.StartsWith("sha256:", StringComparison.Ordinal) ? digest[7..] : throw new ArgumentException("not a sha256 digest: " + digest));

    public byte[] ReadBlob(string digest) => File.ReadAllBytes(BlobPath(digest));

    public JsonNode ReadJson(string digest) => JsonNode.Parse(ReadBlob(digest)) ?? throw new InvalidDataException("null JSON blob " + digest);

    public OciDescriptor WriteBlob(string mediaType, byte[] content)
    {
        var digest = Sha256(content);
        File.WriteAllBytes(BlobPath(digest), content);
        return new OciDescriptor(mediaType, digest, content.Length);
    }

    public OciDescriptor WriteJson(string mediaType, JsonNode json) => WriteBlob(mediaType, Encoding.UTF8.GetBytes(json.ToJsonString()));

    /// <summary>The descriptor index.json names TAG (org.opencontainers.image.ref.name).</summary>
    public OciDescriptor Resolve(string tag)
    {
        foreach (var entry in ReadIndex()["manifests"]!.AsArray())
        {
            if ((string?)entry!["annotations"]?[RefNameAnnotation] == tag)
                return Descriptor(entry);
        }
        throw new KeyNotFoundException($"tag {tag} is not in {Path}/index.json");
    }

    /// <summary>Names DESCRIPTOR TAG in index.json (replacing what the tag named before).</summary>
    public void Tag(OciDescriptor descriptor, string tag)
    {
        var index = ReadIndex();
        var manifests = index["manifests"]!.AsArray();
        foreach (var old in manifests.Where(m => (string?)m!["annotations"]?[RefNameAnnotation] == tag).ToList())
            manifests.Remove(old);
        var entry = DescriptorJson(descriptor);
        entry["annotations"] = new JsonObject { [RefNameAnnotation] = tag };
        manifests.Add(entry);
        File.WriteAllText(System.IO.Path.Combine(Path, "index.json"), index.ToJsonString());
    }

    public static OciDescriptor Descriptor(JsonNode node) =>
        new((string)node["mediaType"]!, (string)node["digest"]!, (long)node["size"]!);

    public static JsonObject DescriptorJson(OciDescriptor descriptor) => new()
    {
        ["mediaType"] = descriptor.MediaType,
        ["digest"] = descriptor.Digest,
        ["size"] = descriptor.Size,
    };

    /// <summary>
    /// Pushes ROOT (a manifest, or an index and its manifests) and every blob under it to
    /// NAME:TAG: monolithic uploads (POST, then PUT ?digest=), then the manifests by digest, the
    /// root last by tag, so the registry never sees a manifest whose blobs are missing.
    /// </summary>
    public async Task PushAsync(HttpClient client, string name, string tag, OciDescriptor root, CancellationToken cancellationToken)
    {
        if (root.MediaType is OciMediaTypes.Index or OciMediaTypes.DockerManifestList)
        {
            foreach (var child in ReadJson(root.Digest)["manifests"]!.AsArray())
            {
                var manifest = Descriptor(child!);
                await PushAsync(client, name, manifest.Digest, manifest, cancellationToken);
            }
        }
        else
        {
            var manifest = ReadJson(root.Digest);
            await PushBlobAsync(client, name, Descriptor(manifest["config"]!), cancellationToken);
            foreach (var layer in manifest["layers"]!.AsArray())
                await PushBlobAsync(client, name, Descriptor(layer!), cancellationToken);
        }
        using var body = new ByteArrayContent(ReadBlob(root.Digest));
        body.Headers.ContentType = new MediaTypeHeaderValue(root.MediaType);
        using var put = await client.PutAsync($"v2/{name}/manifests/{tag}", body, cancellationToken);
        await EnsureAsync(put, HttpStatusCode.Created, $"PUT manifest {name}:{tag}", cancellationToken);
        var digest = put.Headers.TryGetValues("Docker-Content-Digest", out var values) ? values.FirstOrDefault() : null;
        if (digest != root.Digest)
            throw new InvalidOperationException($"the registry stored {name}:{tag} as {digest}, not {root.Digest}");
    }

    private async Task PushBlobAsync(HttpClient client, string name, OciDescriptor blob, CancellationToken cancellationToken)
    {
        using (var head = new HttpRequestMessage(HttpMethod.Head, $"v2/{name}/blobs/{blob.Digest}"))
        using (var exists = await client.SendAsync(head, cancellationToken))
        {
            if (exists.StatusCode == HttpStatusCode.OK)
                return;
        }
        using var start = await client.PostAsync($"v2/{name}/blobs/uploads/", null, cancellationToken);
        await EnsureAsync(start, HttpStatusCode.Accepted, $"POST upload {name} {blob.Digest}", cancellationToken);
        // Location may be absolute or relative, and already carries the upload's state in its query.
        var location = new Uri(client.BaseAddress!, start.Headers.Location ?? throw new InvalidDataException("upload without Location"));
        var separator = location.Query.Length > 0 ? "&" : "?";
        using var content = new ByteArrayContent(ReadBlob(blob.Digest));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var put = await client.PutAsync(new Uri(location + separator + "digest=" + Uri.EscapeDataString(blob.Digest)), content, cancellationToken);
        await EnsureAsync(put, HttpStatusCode.Created, $"PUT blob {name} {blob.Digest}", cancellationToken);
    }

    private static async Task EnsureAsync(HttpResponseMessage response, HttpStatusCode expected, string what, CancellationToken cancellationToken)
    {
        if (response.StatusCode != expected)
            throw new InvalidOperationException($"{what}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}");
    }

    private JsonNode ReadIndex() =>
        JsonNode.Parse(File.ReadAllText(System.IO.Path.Combine(Path, "index.json"))) ?? throw new InvalidDataException("null index.json");
}
