namespace Containerd.Daemon.Images.Distribution;

/// <summary>The manifest, index, config and layer media types of OCI and of docker's v2 schema 2 (both are still served).</summary>
public static class DistributionMediaTypes
{
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciConfig = "application/vnd.oci.image.config.v1+json";
    public const string OciLayer = "application/vnd.oci.image.layer.v1.tar";
    public const string OciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
    public const string OciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";

    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerConfig = "application/vnd.docker.container.image.v1+json";
    public const string DockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    /// <summary>Docker's schema 1 (signed, no config blob): refused, as containerd 1.6+ does by default.</summary>
    public const string DockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws";
    public const string DockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json";

    /// <summary>The Accept header of a manifest request: every kind this client can read, preferred first.</summary>
    public static string ManifestAccept { get; } = string.Join(", ", OciIndex, DockerManifestList, OciManifest, DockerManifest);

    public static bool IsIndex(string mediaType) => mediaType is OciIndex or DockerManifestList;

    public static bool IsManifest(string mediaType) => mediaType is OciManifest or DockerManifest;

    public static bool IsSchema1(string mediaType) => mediaType is DockerSchema1Signed or DockerSchema1;

    /// <summary>The media type without parameters (<c>; charset=…</c>) and in lower case.</summary>
    public static string Strip(string? mediaType)
    {
        if (string.IsNullOrEmpty(mediaType))
            return "";
        var semicolon = mediaType.IndexOf(';', StringComparison.Ordinal);
        return (semicolon < 0 ? mediaType : mediaType[..semicolon]).Trim().ToLowerInvariant();
    }
}
