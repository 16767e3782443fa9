using Containerd.Api.Containers;
using Containerd.Daemon.Hosting;

namespace Containerd.Daemon.Containers;

/// <summary>
/// A small subset of containerd's filter syntax: clauses joined by ',' must all
/// match; a clause is <c>FIELD==VALUE</c>, <c>FIELD!=VALUE</c> or just <c>FIELD</c>
/// (present and non-empty). Fields: id, image, runtime, rootfs, labels.KEY.
/// Values may be double-quoted.
/// </summary>
public sealed class ContainerFilter
{
    private readonly IReadOnlyList<Clause> _clauses;

    private ContainerFilter(IReadOnlyList<Clause> clauses) => _clauses = clauses;

    public static ContainerFilter Parse(string? filter)
    {
        var clauses = new List<Clause>();
        if (string.IsNullOrWhiteSpace(filter))
            return new ContainerFilter(clauses);

        foreach (var raw in filter.Split(',', StringSplitOptions.TrimEntries))
        {
            if (raw.Length == 0)
                throw RpcErrors.InvalidArgument($"filter \"{filter}\": empty clause");
            string field;
            string? value = null;
            var negate = false;
            var eq = raw.IndexOf("==", StringComparison.Ordinal);
            var ne = raw.IndexOf("!=", StringComparison.Ordinal);
            if (eq >= 0 && (ne < 0 || eq < ne))
            {
                field = raw[..eq].Trim();
                value = Unquote(raw[(eq + 2)..].Trim());
            }
            else if (ne >= 0)
            {
                field = raw[..ne].Trim();
                value = Unquote(raw[(ne + 2)..].Trim());
                negate = true;
            }
            else
            {
                field = raw;
            }
            if (!IsKnownField(field))
                throw RpcErrors.InvalidArgument(
                    $"filter \"{filter}\": unknown field \"{field}\" (use id, image, runtime, rootfs or labels.KEY)");
            clauses.Add(new Clause(field, value, negate));
        }
        return new ContainerFilter(clauses);
    }

    public bool Matches(Container container) => _clauses.All(c => c.Matches(container));

    private static bool IsKnownField(string field) =>
        field is "id" or "image" or "runtime" or "rootfs"
        || (field.StartsWith("labels.", StringComparison.Ordinal) && field.Length > "labels.".Length);

    private static string Unquote(string value) =>
        value.Length >= 2 && value[0] == '"' && value[^1] == '"' ? value[1..^1] : value;

    private sealed record Clause(string Field, string? Value, bool Negate)
    {
        public bool Matches(Container container)
        {
            var actual = Field switch
            {
                "id" => container.Id,
                "image" => container.Image,
                "runtime" => container.Runtime,
                "rootfs" => container.Rootfs,
                _ => container.Labels.TryGetValue(Unquote(Field["labels.".Length..]), out var label) ? label : null,
            };
            if (Value is null)
                return !string.IsNullOrEmpty(actual);
            return (actual == Value) != Negate;
        }
    }
}
