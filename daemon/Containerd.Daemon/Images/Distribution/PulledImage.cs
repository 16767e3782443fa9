using Descriptor = Containerd.Api.Types.ContentDescriptor;

namespace Containerd.Daemon.Images.Distribution;

/// <summary>
/// The result of a pull (Descriptor is the API's containerd.v1.types.Descriptor, generated as ContentDescriptor); every blob named here is in the content store.
/// <paramref name="Target"/> is what the reference names (an index or a
/// manifest: the image record's target); <paramref name="Manifest"/> is the
/// manifest chosen for the platform (equal to Target when the reference names a manifest).
/// <paramref name="DiffIds"/> come from the config's <c>rootfs.diff_ids</c>, one per layer.
/// </summary>
public sealed record PulledImage(
    string Name,
    Descriptor Target,
    Descriptor Manifest,
    Descriptor Config,
    IReadOnlyList<Descriptor> Layers,
    IReadOnlyList<string> DiffIds);
