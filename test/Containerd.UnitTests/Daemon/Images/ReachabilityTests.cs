using Containerd.Daemon.Images;
using Containerd.Daemon.Snapshots;
using Containerd.Shared.Images;

namespace Containerd.UnitTests.Daemon.Images;

/// <summary>The collector's pure part: what the roots keep, and the order the rest goes in.</summary>
public sealed class ReachabilityTests
{
    private static readonly BlobRef Index = new(ImageMediaTypes.OciIndex, D('1'), 10);
    private static readonly BlobRef ManifestA = new(ImageMediaTypes.OciManifest, D('2'), 10);
    private static readonly BlobRef ManifestB = new(ImageMediaTypes.OciManifest, D('3'), 10);
    private static readonly BlobRef ConfigA = new(ImageMediaTypes.OciConfig, D('4'), 10);
    private static readonly BlobRef ConfigB = new(ImageMediaTypes.OciConfig, D('5'), 10);
    private static readonly BlobRef SharedLayer = new("application/vnd.oci.image.layer.v1.tar+gzip", D('6'), 10);
    private static readonly BlobRef LayerB = new("application/vnd.oci.image.layer.v1.tar+gzip", D('7'), 10);

    private static string D(char c) => "sha256:" + new string(c, 64);

    private static Task<IReadOnlyList<BlobRef>> Children(BlobRef blob, CancellationToken _) =>
        Task.FromResult<IReadOnlyList<BlobRef>>(blob.Digest switch
        {
            var d when d == Index.Digest => [ManifestA, ManifestB],
            var d when d == ManifestA.Digest => [ConfigA, SharedLayer],
            var d when d == ManifestB.Digest => [ConfigB, SharedLayer, LayerB],
            _ => [],
        });

    [Test]
    public async Task An_index_keeps_every_manifest_its_configs_and_layers()
    {
        var reachable = await Reachability.ContentAsync([Index], Children, CancellationToken.None);
        Assert.That(reachable.Keys, Is.EquivalentTo(new[]
        {
            Index.Digest, ManifestA.Digest, ManifestB.Digest, ConfigA.Digest, ConfigB.Digest, SharedLayer.Digest, LayerB.Digest,
        }));
    }

    [Test]
    public async Task A_layer_shared_with_another_image_stays_when_one_image_goes()
    {
        // The image on manifest B is deleted; the one on manifest A remains.
        var candidates = (await Reachability.ContentAsync([ManifestB], Children, CancellationToken.None)).Keys;
        var reachable = await Reachability.ContentAsync([ManifestA], Children, CancellationToken.None);
        var removed = candidates.Where(d => !reachable.ContainsKey(d));
        Assert.That(removed, Is.EquivalentTo(new[] { ManifestB.Digest, ConfigB.Digest, LayerB.Digest }));
    }

    [Test]
    public async Task No_roots_keep_nothing()
    {
        var reachable = await Reachability.ContentAsync([], Children, CancellationToken.None);
        Assert.That(reachable, Is.Empty);
    }

    [Test]
    public void A_container_snapshot_keeps_its_parent_chain_and_nothing_else()
    {
        var now = DateTime.UtcNow;
        SnapshotInfo[] all =
        [
            new("c1", null, SnapshotKind.Committed, now),
            new("c2", "c1", SnapshotKind.Committed, now),
            new("c3", "c2", SnapshotKind.Committed, now),
            new("other", null, SnapshotKind.Committed, now),
            new("container:default:web", "c2", SnapshotKind.Active, now),
            new("container:default:gone", "c3", SnapshotKind.Active, now),
            new("extract-123", "other", SnapshotKind.Active, now),
        ];
        var keep = Reachability.Snapshots(["container:default:web", "absent"], all);
        Assert.That(keep, Is.EquivalentTo(new[] { "container:default:web", "c2", "c1" }));

        var order = Reachability.RemovalOrder(all, keep);
        Assert.That(order, Is.EquivalentTo(new[] { "c3", "other", "container:default:gone", "extract-123" }));
        // Children before parents: the snapshotter refuses a parent while a child exists.
        Assert.That(order.IndexOf("container:default:gone"), Is.LessThan(order.IndexOf("c3")));
        Assert.That(order.IndexOf("extract-123"), Is.LessThan(order.IndexOf("other")));
    }

    [Test]
    public void Image_chain_ids_keep_every_layer_snapshot_below_the_top()
    {
        var now = DateTime.UtcNow;
        var chain = ChainIds.Of([D('a'), D('b'), D('c')]);
        SnapshotInfo[] all =
        [
            new(chain[0], null, SnapshotKind.Committed, now),
            new(chain[1], chain[0], SnapshotKind.Committed, now),
            new(chain[2], chain[1], SnapshotKind.Committed, now),
        ];
        Assert.That(Reachability.Snapshots([chain[2]], all), Is.EquivalentTo(chain));
        Assert.That(Reachability.RemovalOrder(all, new HashSet<string>()), Is.EqualTo(new[] { chain[2], chain[1], chain[0] }));
    }

    [Test]
    public void Container_snapshot_keys_round_trip_and_other_keys_are_not_containers()
    {
        Assert.That(ContainerSnapshots.ParseKey(ContainerSnapshots.KeyOf("k8s.io", "web-1")), Is.EqualTo(("k8s.io", "web-1")));
        Assert.That(ContainerSnapshots.ParseKey("sha256:" + new string('a', 64)), Is.Null);
        Assert.That(ContainerSnapshots.ParseKey("container:a:b:c"), Is.Null);
    }
}
