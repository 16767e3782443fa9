using Containerd.Api.Containers;
using Containerd.Api.Images;
using Containerd.Shared.Grpc;
using Containerd.Tests.Support;
using Grpc.Core;

namespace Containerd.Tests.Integration;

/// <summary>
/// containerd's list filters through the API and ctr: Images.List (name, target,
/// labels; several filters are alternatives) and Containers.List, one parser for
/// both; a malformed filter is InvalidArgument naming it and where.
/// </summary>
[TestFixture]
public sealed class ListFilterTests : DaemonFixture
{
    private static Image Image(string name, char digit, params (string Key, string Value)[] labels)
    {
        var image = new Image
        {
            Name = name,
            Target = new Containerd.Api.Types.ContentDescriptor
            {
                MediaType = "application/vnd.oci.image.manifest.v1+json", Digest = "sha256:" + new string(digit, 64), Size = 10,
            },
        };
        foreach (var (key, value) in labels)
            image.Labels[key] = value;
        return image;
    }

    [Test]
    public async Task Images_list_filters_by_name_target_and_labels()
    {
        using var channel = UnixSocketChannel.Create(Daemon.Address);
        var images = new Images.ImagesClient(channel);
        Image[] all =
        [
            Image("docker.io/library/x:latest", 'a', ("k", "v")),
            Image("127.0.0.1:5000/y:1", 'b', ("k", "w"), ("a.b", "dotted")),
            Image("127.0.0.1:5000/z:2", 'c'),
        ];
        foreach (var image in all)
            await images.CreateAsync(new CreateImageRequest { Image = image }, Client.Options());
        try
        {
            async Task<string[]> List(params string[] filters)
            {
                var request = new ListImagesRequest();
                request.Filters.Add(filters);
                return [.. (await images.ListAsync(request, Client.Options())).Images.Select(i => i.Name)];
            }

            Assert.Multiple(async () =>
            {
                Assert.That(await List(), Has.Length.EqualTo(3));
                Assert.That(await List("name==docker.io/library/x:latest"), Is.EqualTo(new[] { "docker.io/library/x:latest" }));
                Assert.That(await List("name~=^127"), Is.EqualTo(new[] { "127.0.0.1:5000/y:1", "127.0.0.1:5000/z:2" }));
                Assert.That(await List("labels.\"k\"==v"), Is.EqualTo(new[] { "docker.io/library/x:latest" }));
                Assert.That(await List("labels.\"a.b\""), Is.EqualTo(new[] { "127.0.0.1:5000/y:1" }));
                Assert.That(await List("labels.k"), Has.Length.EqualTo(2));
                Assert.That(await List("name~=^127,labels.k!=w"), Is.EqualTo(new[] { "127.0.0.1:5000/z:2" }));
                Assert.That(await List($"target.digest==sha256:{new string('c', 64)}"), Is.EqualTo(new[] { "127.0.0.1:5000/z:2" }));
                Assert.That(await List("target.mediatype~=manifest"), Has.Length.EqualTo(3));
                Assert.That(await List("name==docker.io/library/x:latest", "labels.k==w"),
                    Is.EqualTo(new[] { "127.0.0.1:5000/y:1", "docker.io/library/x:latest" }), "any of several filters");
            });

            var bad = Assert.ThrowsAsync<RpcException>(() => List("name=~x"));
            Assert.That(bad!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
            Assert.That(bad.Status.Detail, Is.EqualTo("filter \"name=~x\": at offset 4: unsupported operator \"=~\" (use ==, != or ~=)"));
            var regex = Assert.ThrowsAsync<RpcException>(() => List("name~=(unclosed"));
            Assert.That(regex!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
            Assert.That(regex.Status.Detail, Does.StartWith("filter \"name~=(unclosed\": at offset 6: invalid regular expression"));
            var unknown = Assert.ThrowsAsync<RpcException>(() => List("tag==1"));
            Assert.That((unknown!.StatusCode, unknown.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument,
                "filter \"tag==1\": unknown field \"tag\" (use name, target.digest, target.mediatype or labels.KEY)")));

            // containerd's ctr: trailing arguments are the filters.
            var (code, stdout, stderr) = await CtrProcess.RunAsync(Daemon, Client.Namespace, null, closeStdin: true, TimeSpan.FromSeconds(60),
                ["images", "ls", "-q", "name~=^127", "labels.k==v"]);
            Assert.That((code, stdout, stderr), Is.EqualTo((0, "127.0.0.1:5000/y:1\n127.0.0.1:5000/z:2\ndocker.io/library/x:latest\n", "")));
            var (badCode, _, badErr) = await CtrProcess.RunAsync(Daemon, Client.Namespace, null, closeStdin: true, TimeSpan.FromSeconds(60),
                ["images", "ls", "name=="]);
            Assert.That(badCode, Is.Not.EqualTo(0));
            Assert.That(badErr, Does.Contain("filter \"name==\": at offset 6: expected a value after \"==\""));
        }
        finally
        {
            foreach (var image in all)
                await images.DeleteAsync(new DeleteImageRequest { Name = image.Name }, Client.Options());
        }
    }

    [Test]
    public async Task Containers_list_filters_with_the_same_syntax()
    {
        await Client.CreateContainerAsync("flt-one", "true");
        await Client.CreateContainerAsync("flt-two", "true");
        try
        {
            async Task<string[]> List(string filter) =>
                [.. (await Client.Containers.ListAsync(new ListContainersRequest { Filter = filter }, Client.Options())).Containers.Select(c => c.Id).Order()];

            Assert.Multiple(async () =>
            {
                Assert.That(await List(""), Is.EqualTo(new[] { "flt-one", "flt-two" }));
                Assert.That(await List("id==flt-one"), Is.EqualTo(new[] { "flt-one" }));
                Assert.That(await List("id!=flt-one"), Is.EqualTo(new[] { "flt-two" }));
                Assert.That(await List("id~=^flt-t"), Is.EqualTo(new[] { "flt-two" }));
                Assert.That(await List("id==\"flt-two\""), Is.EqualTo(new[] { "flt-two" }));
                Assert.That(await List("id,runtime"), Is.Empty, "a runtime left unset is not present");
                Assert.That(await List("labels.none"), Is.Empty);
            });
            var unknown = Assert.ThrowsAsync<RpcException>(() => List("name==x"));
            Assert.That((unknown!.StatusCode, unknown.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument,
                "filter \"name==x\": unknown field \"name\" (use id, image, runtime, rootfs or labels.KEY)")));
            var bad = Assert.ThrowsAsync<RpcException>(() => List("id==a,"));
            Assert.That((bad!.StatusCode, bad.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument,
                "filter \"id==a,\": at offset 6: expected a field name, found the end")));
        }
        finally
        {
            foreach (var id in (string[])["flt-one", "flt-two"])
                await Client.Containers.DeleteAsync(new DeleteContainerRequest { Id = id }, Client.Options());
        }
    }
}
