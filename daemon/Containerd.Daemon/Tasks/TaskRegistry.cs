using System.Collections.Concurrent;

namespace Containerd.Daemon.Tasks;

/// <summary>The tasks the daemon knows, live or stopped, keyed by (namespace, container id).</summary>
public sealed class TaskRegistry
{
    private readonly ConcurrentDictionary<(string Namespace, string Id), ITask> _tasks = new();

    public bool TryGet(string @namespace, string id, out ITask task) =>
        _tasks.TryGetValue((@namespace, id), out task!);

    public bool Contains(string @namespace, string id) => _tasks.ContainsKey((@namespace, id));

    public bool TryAdd(ITask task) => _tasks.TryAdd((task.Namespace, task.Id), task);

    /// <summary>Replaces <paramref name="current"/> (and only it: not a task created since) with <paramref name="replacement"/>.</summary>
    public bool TryReplace(ITask current, ITask replacement) =>
        _tasks.TryUpdate((current.Namespace, current.Id), replacement, current);

    public bool TryRemove(string @namespace, string id, out ITask task) =>
        _tasks.TryRemove((@namespace, id), out task!);

    public IReadOnlyList<ITask> InNamespace(string @namespace) =>
        _tasks.Values.Where(t => t.Namespace == @namespace).OrderBy(t => t.Id, StringComparer.Ordinal).ToList();

    public IReadOnlyList<ITask> All() => _tasks.Values.ToList();
}
