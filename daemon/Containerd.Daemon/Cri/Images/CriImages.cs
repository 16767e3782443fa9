using Containerd.Daemon.Content;
using Containerd.Daemon.Cri.Common;
using Containerd.Daemon.Hosting;
using Containerd.Daemon.Images;
using Containerd.Daemon.Images.Distribution;
using Containerd.Daemon.Metadata;
using Containerd.Shared.Images;
using Containerd.Shared.Oci;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging;
using Runtime.V1;
using ImagesApi = Containerd.Api.Images;

namespace Containerd.Daemon.Cri.Images;

/// <summary>
/// The CRI's images: the records of the namespace k8s.io grouped by image id
/// (config digest). A pull records the tag and the digest reference, as
/// containerd's CRI does, so either finds the image; a removal takes every
/// name of the image, then the collector takes its content and snapshots.
/// </summary>
public sealed class CriImages(
    ImageStore store,
    ImageResolver resolver,
    ImagePulls pulls,
    ImageGc gc,
    DaemonOptions options,
    ILogger<CriImages> logger)
{
    public async Task<ListImagesResponse> ListAsync(ImageFilter? filter, CancellationToken cancellationToken)
    {
        var response = new ListImagesResponse();
        if (filter?.Image is { Image.Length: > 0 } spec)
        {
            if (await FindAsync(spec.Image, cancellationToken).ConfigureAwait(false) is { } one)
                response.Images.Add(ToCri(one));
            return response;
        }
        response.Images.Add((await AllAsync(cancellationToken).ConfigureAwait(false)).Select(ToCri));
        return response;
    }

    /// <summary>No image is not an error: the response has no image (the kubelet then pulls).</summary>
    public async Task<ImageStatusResponse> StatusAsync(ImageSpec? spec, bool verbose, CancellationToken cancellationToken)
    {
        var response = new ImageStatusResponse();
        if (spec is null || spec.Image.Length == 0)
            throw RpcErrors.InvalidArgument("ImageStatus: image is required");
        if (await FindAsync(spec.Image, cancellationToken).ConfigureAwait(false) is not { } image)
            return response;
        response.Image = ToCri(image);
        if (verbose)
            response.Info["info"] = VerboseInfo(image);
        return response;
    }

    public async Task<PullImageResponse> PullAsync(PullImageRequest request, CancellationToken cancellationToken)
    {
        var reference = request.Image?.Image ?? "";
        if (reference.Length == 0)
            throw RpcErrors.InvalidArgument("PullImage: image is required");
        // As containerd's CRI: a registry on this host is spoken to over plain HTTP (no hosts.toml needed).
        var plainHttp = ImageReference.TryParse(reference, out var parsed, out _) && IsLocalhost(parsed.Registry);
        var pulled = await pulls.PullAsync(CriNames.Namespace, reference,
            new PullOptions(PlainHttp: plainHttp, Credentials: Credentials(request.Auth)), unpack: true, beforeUnpack: null, cancellationToken)
            .ConfigureAwait(false);
        // The digest reference too, as containerd records it: the kubelet may name the image either way.
        var repository = CriImage.Repository(pulled.Record.Name);
        var digestName = $"{repository}@{pulled.Record.Target.Digest}";
        if (digestName != pulled.Record.Name)
        {
            await store.PutAsync(CriNames.Namespace, new ImagesApi.Image
            {
                Name = digestName, Target = pulled.Record.Target, UpdatedAt = Timestamp.FromDateTime(DateTime.UtcNow),
            }, cancellationToken).ConfigureAwait(false);
        }
        var id = ImageJson.Manifest(await resolver.ReadAsync(pulled.Manifest.Digest, cancellationToken).ConfigureAwait(false)).Config.Digest;
        logger.LogInformation("CRI image pulled {Reference} {ImageId}", reference, id);
        return new PullImageResponse { ImageRef = id };
    }

    /// <summary>The image, pulled first when the namespace k8s.io has none by that reference (the sandbox image).</summary>
    public async Task<CriImage> EnsureAsync(string reference, CancellationToken cancellationToken)
    {
        if (await FindAsync(reference, cancellationToken).ConfigureAwait(false) is { } found)
            return found;
        await PullAsync(new PullImageRequest { Image = new ImageSpec { Image = reference } }, cancellationToken).ConfigureAwait(false);
        return await FindAsync(reference, cancellationToken).ConfigureAwait(false)
            ?? throw RpcErrors.Internal($"image \"{reference}\" was pulled but does not resolve on {ImagePlatform.Current}");
    }

    /// <summary>Removes every name of the image; an unknown image is fine (removal is idempotent in CRI).</summary>
    public async Task<RemoveImageResponse> RemoveAsync(ImageSpec? spec, CancellationToken cancellationToken)
    {
        if (spec is null || spec.Image.Length == 0)
            throw RpcErrors.InvalidArgument("RemoveImage: image is required");
        if (await FindAsync(spec.Image, cancellationToken).ConfigureAwait(false) is not { } image)
            return new RemoveImageResponse();
        var candidates = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in image.Names)
        {
            if (await store.GetAsync(CriNames.Namespace, name, cancellationToken).ConfigureAwait(false) is not { } record)
                continue;
            candidates.UnionWith(await gc.BlobsOfAsync(BlobRef.FromApi(record.Target), cancellationToken).ConfigureAwait(false));
            await store.DeleteAsync(CriNames.Namespace, name, cancellationToken).ConfigureAwait(false);
        }
        await gc.CollectAsync(candidates, cancellationToken).ConfigureAwait(false);
        logger.LogInformation("CRI image removed {ImageId} {Names}", image.Id, string.Join(",", image.Names));
        return new RemoveImageResponse();
    }

    /// <summary>The snapshots' file system: what images (and containers' writable layers) take.</summary>
    public ImageFsInfoResponse FsInfo()
    {
        var (bytes, inodes) = DiskUsage.Of(options.OverlaySnapshotsRoot);
        var usage = new FilesystemUsage
        {
            Timestamp = CriNames.Now(),
            FsId = new FilesystemIdentifier { Mountpoint = options.OverlaySnapshotsRoot },
            UsedBytes = new Runtime.V1.UInt64Value { Value = (ulong)bytes },
            InodesUsed = new Runtime.V1.UInt64Value { Value = (ulong)inodes },
        };
        return new ImageFsInfoResponse { ImageFilesystems = { usage }, ContainerFilesystems = { usage.Clone() } };
    }

    /// <summary>
    /// The image a CRI reference names: an image id (<c>sha256:…</c>, or a unique
    /// prefix of its hex), a name in any form docker accepts (normalised), or a
    /// digest reference.
    /// </summary>
    public async Task<CriImage?> FindAsync(string reference, CancellationToken cancellationToken)
    {
        var all = await AllAsync(cancellationToken).ConfigureAwait(false);
        var byId = all.FirstOrDefault(i => i.Id == reference || i.Id == "sha256:" + reference);
        if (byId is not null)
            return byId;
        if (ImageReference.TryParse(reference, out var parsed, out _))
        {
            var name = parsed.ToString();
            var byName = all.FirstOrDefault(i => i.Names.Contains(name, StringComparer.Ordinal));
            if (byName is not null)
                return byName;
            // name:tag@digest and repo@digest both find the image by its target digest.
            if (parsed.Digest is { } digest)
            {
                var repository = parsed.Registry + "/" + parsed.Repository;
                var byDigest = all.FirstOrDefault(i => i.Names.Any(n => CriImage.Repository(n) == repository && i.Targets[n] == digest));
                if (byDigest is not null)
                    return byDigest;
            }
        }
        // A short id, as crictl shows them.
        var hex = reference.StartsWith("sha256:", StringComparison.Ordinal) ? reference[7..] : reference;
        if (hex.Length >= 4 && hex.All(char.IsAsciiHexDigitLower))
        {
            var matches = all.Where(i => i.Id.StartsWith("sha256:" + hex, StringComparison.Ordinal)).ToList();
            if (matches.Count == 1)
                return matches[0];
        }
        return null;
    }

    /// <summary>Every image of the namespace k8s.io that resolves on this platform.</summary>
    public async Task<List<CriImage>> AllAsync(CancellationToken cancellationToken)
    {
        var records = await store.ListAsync(CriNames.Namespace, cancellationToken).ConfigureAwait(false);
        var byId = new Dictionary<string, (List<string> Names, Dictionary<string, string> Targets, ResolvedImage Resolved)>(StringComparer.Ordinal);
        foreach (var record in records)
        {
            ResolvedImage resolved;
            try
            {
                resolved = await resolver.ResolveAsync(BlobRef.FromApi(record.Target), ImagePlatform.Current, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is ImageFormatException or ContentNotFoundException or InvalidDigestException)
            {
                continue; // a record whose content is gone or foreign: not an image this node can run
            }
            var id = resolved.Config.Digest;
            if (!byId.TryGetValue(id, out var entry))
                byId[id] = entry = ([], new Dictionary<string, string>(StringComparer.Ordinal), resolved);
            entry.Names.Add(record.Name);
            entry.Targets[record.Name] = record.Target.Digest;
        }
        return [.. byId.Select(e => new CriImage(e.Key, [.. e.Value.Names.Order(StringComparer.Ordinal)], e.Value.Targets, e.Value.Resolved))
            .OrderBy(i => i.Id, StringComparer.Ordinal)];
    }

    private Image ToCri(CriImage image)
    {
        var result = new Image
        {
            Id = image.Id,
            Size = (ulong)image.Size,
            Spec = new ImageSpec { Image = image.Id },
            Pinned = options.Cri.SandboxImage.Length > 0 && SandboxImageMatches(image),
        };
        result.RepoTags.Add(image.RepoTags);
        result.RepoDigests.Add(image.RepoDigests);
        var (uid, username) = ImageUser(image.Resolved.ConfigJson);
        if (uid is { } number)
            result.Uid = new Runtime.V1.Int64Value { Value = number };
        result.Username = username;
        return result;
    }

    private bool SandboxImageMatches(CriImage image) =>
        ImageReference.TryParse(options.Cri.SandboxImage, out var sandbox, out _) && image.Names.Contains(sandbox.ToString(), StringComparer.Ordinal);

    /// <summary>The config's User as CRI reports it: a numeric user part is the uid, a name is the username (containerd's getUserFromImage).</summary>
    public static (long? Uid, string Username) ImageUser(byte[] configJson)
    {
        string user;
        try
        {
            user = ImageConfig.Parse(configJson).User;
        }
        catch (FormatException)
        {
            return (null, "");
        }
        if (user.Length == 0)
            return (null, "");
        var name = user.Split(':', 2)[0];
        return long.TryParse(name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var uid)
            ? (uid, "")
            : (null, name);
    }

    private static string VerboseInfo(CriImage image) => CriInfo.Json(writer =>
    {
        writer.WriteStartObject();
        writer.WriteString("imageId", image.Id);
        writer.WriteString("chainID", image.Resolved.TopChainId ?? "");
        writer.WriteString("manifest", image.Resolved.Manifest.Digest);
        writer.WritePropertyName("imageSpec");
        writer.WriteRawValue(image.Resolved.ConfigJson);
        writer.WriteEndObject();
    });

    /// <summary>containerd's IsLocalhost: the name localhost or a loopback address, with or without a port.</summary>
    public static bool IsLocalhost(string registry)
    {
        var host = registry;
        if (host.StartsWith('[') && host.IndexOf(']', StringComparison.Ordinal) is var end and > 0)
            host = host[1..end];
        else if (host.LastIndexOf(':') is var colon and > 0)
            host = host[..colon];
        return host == "localhost" || (System.Net.IPAddress.TryParse(host, out var address) && System.Net.IPAddress.IsLoopback(address));
    }

    private static RegistryCredentials? Credentials(AuthConfig? auth)
    {
        if (auth is null)
            return null;
        if (auth.Username.Length > 0 || auth.Password.Length > 0)
            return new RegistryCredentials(auth.Username, auth.Password);
        if (auth.Auth.Length > 0)
        {
            // docker's config.json form: base64 of user:password.
            string decoded;
            try
            {
                decoded = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(auth.Auth));
            }
            catch (FormatException)
            {
                throw RpcErrors.InvalidArgument("PullImage: auth.auth is not base64 of user:password");
            }
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
                throw RpcErrors.InvalidArgument("PullImage: auth.auth is not base64 of user:password");
            return new RegistryCredentials(decoded[..colon], decoded[(colon + 1)..]);
        }
        if (auth.IdentityToken.Length > 0 || auth.RegistryToken.Length > 0)
            throw RpcErrors.InvalidArgument("PullImage: identity_token and registry_token are not supported; give username and password");
        return null;
    }
}
