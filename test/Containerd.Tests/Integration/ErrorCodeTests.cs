using Containerd.Api.Containers;
using Containerd.Api.Execution;
using Containerd.Tests.Support;
using Google.Protobuf;
using Grpc.Core;

namespace Containerd.Tests.Integration;

/// <summary>Every bad input gets the status code api.md names, with a message that names the thing.</summary>
[TestFixture]
public sealed class ErrorCodeTests : DaemonFixture
{
    private static async Task<RpcException> Fails<T>(Func<Task<T>> call, StatusCode code, string? mentions = null)
    {
        var e = Assert.ThrowsAsync<RpcException>(async () => await call());
        Assert.That(e!.StatusCode, Is.EqualTo(code), e.Status.Detail);
        if (mentions is not null)
            Assert.That(e.Status.Detail, Does.Contain(mentions));
        await Task.CompletedTask;
        return e;
    }

    [Test]
    public async Task UnknownContainerTaskAndPidAreNotFound()
    {
        var o = Client.Options();
        await Fails(() => Client.Tasks.CreateAsync(new CreateRequest { ContainerId = "ghost" }, o).ResponseAsync, StatusCode.NotFound, "ghost");
        await Fails(() => Client.Tasks.InfoAsync(new InfoRequest { ContainerId = "ghost" }, o).ResponseAsync, StatusCode.NotFound, "ghost");
        await Fails(() => Client.Tasks.StartAsync(new StartRequest { ContainerId = "ghost" }, o).ResponseAsync, StatusCode.NotFound, "ghost");
        await Fails(() => Client.Tasks.DeleteAsync(new DeleteRequest { ContainerId = "ghost" }, o).ResponseAsync, StatusCode.NotFound, "ghost");
        await Fails(() => Client.Containers.GetAsync(new GetContainerRequest { Id = "ghost" }, o).ResponseAsync, StatusCode.NotFound, "ghost");
        await Fails(() => Client.Containers.DeleteAsync(new DeleteContainerRequest { Id = "ghost" }, o).ResponseAsync, StatusCode.NotFound, "ghost");

        await Client.RunAsync("known", "sleep", "300");
        await Fails(() => Client.Tasks.KillAsync(new KillRequest { ContainerId = "known", Signal = 9, Pid = 999999 }, o).ResponseAsync, StatusCode.NotFound, "999999");
        await Fails(() => Client.Tasks.DeleteProcessAsync(new DeleteProcessRequest { ContainerId = "known", Pid = 999999 }, o).ResponseAsync, StatusCode.NotFound, "999999");
        await Fails(() => Client.Tasks.CloseStdinAsync(new CloseStdinRequest { ContainerId = "known", Pid = 999999 }, o).ResponseAsync, StatusCode.NotFound, "999999");
        await Client.RemoveAsync("known");
    }

    [Test]
    public async Task DuplicatesAreAlreadyExists()
    {
        var o = Client.Options();
        await Client.CreateTaskAsync("dup", ["sleep", "300"]);
        await Fails(() => Client.CreateContainerAsync("dup", "true"), StatusCode.AlreadyExists, "dup");
        await Fails(() => Client.Tasks.CreateAsync(DaemonClient.CreateTaskRequest("dup"), o).ResponseAsync, StatusCode.AlreadyExists, "dup");
        await Client.RemoveAsync("dup");
    }

    [Test]
    public async Task WrongStateIsFailedPrecondition()
    {
        await using var events = await Client.SubscribeEventsAsync();
        var o = Client.Options();
        var pid = await Client.RunAsync("state", "sleep", "300");
        await Fails(() => Client.Tasks.StartAsync(new StartRequest { ContainerId = "state" }, o).ResponseAsync, StatusCode.FailedPrecondition, "state");
        await Fails(() => Client.Tasks.DeleteAsync(new DeleteRequest { ContainerId = "state" }, o).ResponseAsync, StatusCode.FailedPrecondition, "state");
        await Fails(() => Client.Containers.DeleteAsync(new DeleteContainerRequest { Id = "state" }, o).ResponseAsync, StatusCode.FailedPrecondition, "state");

        var exec = await Client.ExecAsync("state", ["sleep", "300"]);
        await Fails(() => Client.Tasks.DeleteProcessAsync(new DeleteProcessRequest { ContainerId = "state", Pid = exec.Pid }, o).ResponseAsync, StatusCode.FailedPrecondition, exec.Pid.ToString());

        await Client.Tasks.PauseAsync(new PauseRequest { ContainerId = "state" }, o);
        await Fails(() => Client.Tasks.DeleteAsync(new DeleteRequest { ContainerId = "state" }, o).ResponseAsync, StatusCode.FailedPrecondition, "state");
        await Client.Tasks.ResumeAsync(new ResumeRequest { ContainerId = "state" }, o);

        await Client.Tasks.KillAsync(new KillRequest { ContainerId = "state", Signal = 9 }, o);
        var exit = await events.WaitForExitAsync("state", pid);
        await Fails(() => Client.ExecAsync("state", ["true"]), StatusCode.FailedPrecondition, "state");
        await Fails(() => Client.Tasks.PauseAsync(new PauseRequest { ContainerId = "state" }, o).ResponseAsync, StatusCode.FailedPrecondition, "state");
        await Fails(() => Client.Tasks.StartAsync(new StartRequest { ContainerId = "state" }, o).ResponseAsync, StatusCode.FailedPrecondition, "state");
        var deleted = await Client.Tasks.DeleteAsync(new DeleteRequest { ContainerId = "state" }, o);
        KilledTask.AssertDeleted("state", deleted, pid, exit);
        await Client.Containers.DeleteAsync(new DeleteContainerRequest { Id = "state" }, o);
    }

    [Test]
    public async Task BadInputIsInvalidArgument()
    {
        var o = Client.Options();
        await Fails(() => Client.CreateContainerAsync("bad/id", "true"), StatusCode.InvalidArgument, "bad/id");
        await Fails(() => Client.CreateContainerAsync("-dash", "true"), StatusCode.InvalidArgument, "-dash");
        await Fails(() => Client.CreateContainerAsync(new string('x', 77), "true"), StatusCode.InvalidArgument);
        await Fails(() => Client.Tasks.CreateAsync(new CreateRequest { ContainerId = "../escape" }, o).ResponseAsync, StatusCode.InvalidArgument, "../escape");
        await Fails(() => Client.Tasks.CreateAsync(new CreateRequest(), o).ResponseAsync, StatusCode.InvalidArgument);
        await Fails(() => Client.Tasks.InfoAsync(new InfoRequest(), o).ResponseAsync, StatusCode.InvalidArgument);

        var malformed = new Container
        {
            Id = "malformed",
            Spec = new Google.Protobuf.WellKnownTypes.Any { TypeUrl = OciSpecs.TypeUrl, Value = ByteString.CopyFromUtf8("{not json") },
        };
        await Fails(() => Client.Containers.CreateAsync(new CreateContainerRequest { Container = malformed }, o).ResponseAsync, StatusCode.InvalidArgument, "malformed");
        await Fails(() => Client.Containers.CreateAsync(new CreateContainerRequest { Container = new Container { Id = "nospec" } }, o).ResponseAsync, StatusCode.InvalidArgument, "spec");

        await Client.RunAsync("sig", "sleep", "300");
        await Fails(() => Client.Tasks.KillAsync(new KillRequest { ContainerId = "sig", Signal = 0 }, o).ResponseAsync, StatusCode.InvalidArgument, "signal");
        await Fails(() => Client.Tasks.KillAsync(new KillRequest { ContainerId = "sig", Signal = 65 }, o).ResponseAsync, StatusCode.InvalidArgument, "65");
        var pid = (await Client.Tasks.InfoAsync(new InfoRequest { ContainerId = "sig" }, o)).Task.Pid;
        await Fails(() => Client.Tasks.DeleteProcessAsync(new DeleteProcessRequest { ContainerId = "sig", Pid = pid }, o).ResponseAsync, StatusCode.InvalidArgument);
        var badExec = new ExecRequest
        {
            ContainerId = "sig",
            Spec = new Google.Protobuf.WellKnownTypes.Any { TypeUrl = OciSpecs.ProcessTypeUrl, Value = ByteString.CopyFromUtf8("[1,2") },
        };
        await Fails(() => Client.Tasks.ExecAsync(badExec, o).ResponseAsync, StatusCode.InvalidArgument);
        await Fails(() => Client.Tasks.ExecAsync(new ExecRequest { ContainerId = "sig" }, o).ResponseAsync, StatusCode.InvalidArgument);
        await Client.RemoveAsync("sig");

        using var badNamespace = Daemon.Connect("bad/ns");
        await Fails(() => badNamespace.Tasks.ListAsync(new ListRequest(), badNamespace.Options()).ResponseAsync, StatusCode.InvalidArgument, "bad/ns");
    }

    [Test]
    public async Task UnknownRuntimeIsInvalidArgumentNamingIt()
    {
        var container = new Container
        {
            Id = "rt",
            Runtime = "no-such-runtime",
            Spec = new Google.Protobuf.WellKnownTypes.Any { TypeUrl = OciSpecs.TypeUrl, Value = ByteString.CopyFromUtf8(OciSpecs.Container("rt", ["true"])) },
        };
        await Client.Containers.CreateAsync(new CreateContainerRequest { Container = container }, Client.Options());
        await Fails(() => Client.Tasks.CreateAsync(DaemonClient.CreateTaskRequest("rt"), Client.Options()).ResponseAsync, StatusCode.InvalidArgument, "no-such-runtime");
        await Client.Containers.DeleteAsync(new DeleteContainerRequest { Id = "rt" }, Client.Options());
    }

    [Test]
    public async Task RuncFailuresCarryRuncsOwnWords()
    {
        var o = Client.Options();
        // runc refuses to create a container whose command does not exist, in its own words.
        var e = await Fails(() => Client.CreateTaskAsync("nocmd", ["/no/such/binary"]), StatusCode.FailedPrecondition);
        Assert.That(e.Status.Detail, Does.Contain("/no/such/binary").And.Contain("no such file or directory"));
        Assert.That((await Client.Tasks.ListAsync(new ListRequest(), o)).Tasks, Is.Empty, "a failed Create leaves no task");
        await Client.Containers.DeleteAsync(new DeleteContainerRequest { Id = "nocmd" }, o);

        await Client.RunAsync("execfail", "sleep", "300");
        var exec = await Fails(() => Client.ExecAsync("execfail", ["no-such-command"]), StatusCode.FailedPrecondition);
        Assert.That(exec.Status.Detail, Does.Contain("no-such-command").And.Contain("executable file not found"));
        await Client.RemoveAsync("execfail");
    }
}
