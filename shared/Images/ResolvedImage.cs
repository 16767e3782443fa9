namespace Containerd.Shared.Images;

/// <summary>An image record's target followed to one platform's manifest, config and layers (all in the content store).</summary>
public sealed record ResolvedImage(
    BlobRef Target, BlobRef Manifest, BlobRef Config, IReadOnlyList<BlobRef> Layers, IReadOnlyList<string> DiffIds, byte[] ConfigJson)
{
    /// <summary>The committed snapshot holding all layers (null for an image without layers).</summary>
    public string? TopChainId => DiffIds.Count == 0 ? null : ChainIds.Of(DiffIds)[^1];
}
