using Containerd.Api.Shim;
using Containerd.Daemon.Events;
using Containerd.Daemon.Shims;
using Containerd.Daemon.Tasks;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Types = Containerd.Api.Types;

namespace Containerd.UnitTests.Daemon.Tasks;

/// <summary>A live task whose shim cannot be reached (no socket), with a fake shim process.</summary>
public sealed class LiveTaskTests
{
    private string _dir = "";

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("live-task-").FullName;

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_dir, recursive: true);

    [Test]
    public async Task List_shows_an_unreachable_shim_as_unknown_instead_of_failing()
    {
        using var shim = Connection(new FakeShimOsProcess { HasExited = true });
        var task = Live(shim);
        var spec = new Any { TypeUrl = "spec" };
        var listed = await task.DescribeForListAsync(spec, CancellationToken.None);
        Assert.That(listed, Is.EqualTo(new Types.Task { Id = "web", ContainerId = "web", Pid = 42, Status = Types.Status.Unknown, Spec = spec }));
    }

    [Test]
    public void Info_of_a_dead_shim_says_so()
    {
        using var shim = Connection(new FakeShimOsProcess { HasExited = true });
        var error = Assert.ThrowsAsync<RpcException>(() => Live(shim).DescribeAsync(null, CancellationToken.None));
        Assert.That(error!.StatusCode, Is.EqualTo(StatusCode.Unavailable));
        Assert.That(error.Status.Detail, Does.Contain("has exited; delete the task to clean up"));
    }

    private ShimConnection Connection(IShimOsProcess process)
    {
        var layout = new StateLayout(_dir);
        return new ShimConnection("ns", "web", layout.Bundle("ns", "web"), layout.ShimSocket("ns", "web"), process);
    }

    private static LiveTask Live(ShimConnection shim) =>
        new(42, new Stdio(), shim, new EventPump(shim, 42, new EventExchange(), NullLogger.Instance));

    private sealed class FakeShimOsProcess : IShimOsProcess
    {
        public int Pid => 4242;

        public bool HasExited { get; init; }

        public Task<bool> WaitForExitAsync(TimeSpan timeout) => Task.FromResult(HasExited);

        public void Kill()
        {
        }
    }
}
