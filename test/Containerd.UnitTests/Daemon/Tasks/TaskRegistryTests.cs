using Containerd.Api.Shim;
using Containerd.Daemon.Tasks;
using Google.Protobuf.WellKnownTypes;

namespace Containerd.UnitTests.Daemon.Tasks;

public sealed class TaskRegistryTests
{
    private readonly TaskRegistry _registry = new();

    [Test]
    public void Replacing_swaps_only_the_task_it_was_given()
    {
        var first = Stopped("ns", "web");
        var newer = Stopped("ns", "web");
        var replacement = Stopped("ns", "web");
        Assert.That(_registry.TryAdd(first), Is.True);

        Assert.That(_registry.TryReplace(newer, replacement), Is.False, "a task registered since is not replaced");
        Assert.That(_registry.TryGet("ns", "web", out var stillFirst) && ReferenceEquals(stillFirst, first), Is.True);

        Assert.That(_registry.TryReplace(first, replacement), Is.True);
        Assert.That(_registry.TryGet("ns", "web", out var now) && ReferenceEquals(now, replacement), Is.True);
    }

    [Test]
    public void A_removed_task_is_not_brought_back()
    {
        var task = Stopped("ns", "web");
        _registry.TryAdd(task);
        _registry.TryRemove("ns", "web", out _);
        Assert.That(_registry.TryReplace(task, Stopped("ns", "web")), Is.False);
        Assert.That(_registry.Contains("ns", "web"), Is.False);
    }

    [Test]
    public void A_namespace_lists_its_own_tasks_by_id()
    {
        _registry.TryAdd(Stopped("a", "z"));
        _registry.TryAdd(Stopped("a", "b"));
        _registry.TryAdd(Stopped("other", "c"));
        Assert.That(_registry.InNamespace("a").Select(t => t.Id), Is.EqualTo(new[] { "b", "z" }));
    }

    private static StoppedTask Stopped(string @namespace, string id) =>
        new(@namespace, id, 1, new Stdio(), new TaskTombstone(0, Timestamp.FromDateTime(DateTime.UnixEpoch)));
}
