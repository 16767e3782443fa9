using Containerd.Api.Containers;
using Containerd.Tests.Support;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Containerd.Tests.Integration;

[TestFixture]
public sealed class ContainersTests : DaemonFixture
{
    [Test]
    public async Task CreateGetListUpdateDelete()
    {
        var o = Client.Options();
        var created = await Client.CreateContainerAsync("rec", "true");
        Assert.That(created.CreatedAt, Is.Not.Null);

        var update = new UpdateContainerRequest
        {
            Container = new Container { Id = "rec", Image = "busybox:latest", Labels = { ["tier"] = "web" } },
            UpdateMask = new FieldMask { Paths = { "image", "labels" } },
        };
        var updated = (await Client.Containers.UpdateAsync(update, o)).Container;
        Assert.Multiple(() =>
        {
            Assert.That(updated.Image, Is.EqualTo("busybox:latest"));
            Assert.That(updated.Labels["tier"], Is.EqualTo("web"));
            Assert.That(updated.Spec.Value, Is.EqualTo(created.Spec.Value), "fields outside the mask are kept");
            Assert.That(updated.UpdatedAt.ToDateTime(), Is.GreaterThanOrEqualTo(created.CreatedAt.ToDateTime()));
        });

        var badMask = new UpdateContainerRequest { Container = new Container { Id = "rec" }, UpdateMask = new FieldMask { Paths = { "no_such_field" } } };
        var e = Assert.ThrowsAsync<RpcException>(async () => await Client.Containers.UpdateAsync(badMask, o));
        Assert.That(e!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));

        var list = await Client.Containers.ListAsync(new ListContainersRequest(), o);
        Assert.That(list.Containers.Select(c => c.Id), Is.EqualTo(new[] { "rec" }));

        await Client.Containers.DeleteAsync(new DeleteContainerRequest { Id = "rec" }, o);
        Assert.That((await Client.Containers.ListAsync(new ListContainersRequest(), o)).Containers, Is.Empty);
    }

    [Test]
    public async Task SameIdInTwoNamespacesAreDistinct()
    {
        using var other = Daemon.Connect(Client.Namespace + "-b");
        await Client.CreateContainerAsync("twin", "true");
        await other.CreateContainerAsync("twin", "false");

        var mine = (await Client.Containers.GetAsync(new GetContainerRequest { Id = "twin" }, Client.Options())).Container;
        var theirs = (await other.Containers.GetAsync(new GetContainerRequest { Id = "twin" }, other.Options())).Container;
        Assert.That(mine.Spec.Value, Is.Not.EqualTo(theirs.Spec.Value));

        await other.Containers.DeleteAsync(new DeleteContainerRequest { Id = "twin" }, other.Options());
        Assert.That((await Client.Containers.ListAsync(new ListContainersRequest(), Client.Options())).Containers, Has.Count.EqualTo(1));
        await Client.Containers.DeleteAsync(new DeleteContainerRequest { Id = "twin" }, Client.Options());
    }

    [Test]
    public async Task RecordsSurviveADaemonRestart()
    {
        await Client.CreateContainerAsync("keep", "true");
        var update = new UpdateContainerRequest
        {
            Container = new Container { Id = "keep", Image = "busybox:latest", Labels = { ["tier"] = "web", ["owner"] = "tests" } },
            UpdateMask = new FieldMask { Paths = { "image", "labels" } },
        };
        var before = (await Client.Containers.UpdateAsync(update, Client.Options())).Container;
        await Daemon.StopAsync();
        await Daemon.RestartAsync();
        using var again = Daemon.Connect(Client.Namespace);
        var kept = (await again.Containers.GetAsync(new GetContainerRequest { Id = "keep" }, again.Options())).Container;
        // The whole record, timestamps to the nanosecond included, not only that a record by that id exists.
        Assert.That(kept, Is.EqualTo(before));
        await again.Containers.DeleteAsync(new DeleteContainerRequest { Id = "keep" }, again.Options());
    }
}
