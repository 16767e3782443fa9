using System.Collections.Concurrent;

namespace Containerd.Daemon.Tasks;

/// <summary>The tasks the daemon knows, keyed by (namespace, container id).</summary>
public sealed class TaskRegistry
{
    private readonly ConcurrentDictionary<(string Namespace, string Id), RunningTask> _tasks = new();

    public bool TryGet(string @namespace, string id, out RunningTask task) =>
        _tasks.TryGetValue((@namespace, id), out task!);

    public bool Contains(string @namespace, string id) => _tasks.ContainsKey((@namespace, id));

    public bool TryAdd(RunningTask task) => _tasks.TryAdd((task.Namespace, task.Id), task);

    public bool TryRemove(string @namespace, string id, out RunningTask task) =>
        _tasks.TryRemove((@namespace, id), out task!);

    public IReadOnlyList<RunningTask> InNamespace(string @namespace) =>
        _tasks.Values.Where(t => t.Namespace == @namespace).OrderBy(t => t.Id, StringComparer.Ordinal).ToList();

    public IReadOnlyList<RunningTask> All() => _tasks.Values.ToList();
}
