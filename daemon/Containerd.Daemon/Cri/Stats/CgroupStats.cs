using System.Globalization;

namespace Containerd.Daemon.Cri.Stats;

/// <summary>
/// Reads a cgroup's CPU, memory and process figures straight from its files
/// (containerd asks its shim for the same numbers; the files are the source
/// either way). A missing or unreadable file leaves its figures null: the
/// cgroup of a container that just exited disappears under the reader.
/// </summary>
public static class CgroupStats
{
    /// <summary>
    /// Above this a limit means "unlimited": the kernel rounds the v1 default
    /// (2^63-1) down to a page multiple, so cadvisor and containerd use 2^62.
    /// </summary>
    public const ulong UnlimitedAbove = 1UL << 62;

    /// <summary>Reads every figure of <paramref name="paths"/>; <paramref name="clock"/> stamps the sample (the system clock by default).</summary>
    public static CgroupSample Read(CgroupPaths paths, TimeProvider? clock = null)
    {
        var timestamp = UnixNanoseconds((clock ?? TimeProvider.System).GetUtcNow());
        return paths.Unified ? ReadV2(paths, timestamp) : ReadV1(paths, timestamp);
    }

    /// <summary>Nanoseconds since the Unix epoch (CRI timestamps).</summary>
    public static long UnixNanoseconds(DateTimeOffset time) => (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;

    private static CgroupSample ReadV1(CgroupPaths paths, long timestamp)
    {
        var cpu = ReadNumber(paths.CpuAcct, "cpuacct.usage");
        var usage = ReadNumber(paths.Memory, "memory.usage_in_bytes");
        var stat = ReadKeyed(paths.Memory, "memory.stat");
        // The hierarchy's totals (total_*) include child cgroups, as containerd reports; the plain keys are a fallback.
        var inactiveFile = Value(stat, "total_inactive_file") ?? Value(stat, "inactive_file");
        var limit = ReadNumber(paths.Memory, "memory.limit_in_bytes");
        var processes = ReadNumber(paths.Pids, "pids.current") ?? CountProcs(paths.Pids ?? paths.Memory ?? paths.CpuAcct);
        return Sample(
            timestamp, cpu, usage, inactiveFile,
            Value(stat, "total_rss") ?? Value(stat, "rss"),
            Value(stat, "total_pgfault") ?? Value(stat, "pgfault"),
            Value(stat, "total_pgmajfault") ?? Value(stat, "pgmajfault"),
            limit, processes);
    }

    private static CgroupSample ReadV2(CgroupPaths paths, long timestamp)
    {
        var dir = paths.Memory;
        var cpuStat = ReadKeyed(paths.Cpu, "cpu.stat");
        var cpu = Value(cpuStat, "usage_usec") is { } usec ? usec * 1000 : (ulong?)null;
        var stat = ReadKeyed(dir, "memory.stat");
        // memory.max is "max" when unlimited: no number, so no limit.
        var limit = ReadNumber(dir, "memory.max");
        var processes = ReadNumber(paths.Pids, "pids.current") ?? CountProcs(paths.Pids);
        return Sample(
            timestamp, cpu, ReadNumber(dir, "memory.current"), Value(stat, "inactive_file"),
            Value(stat, "anon"), Value(stat, "pgfault"), Value(stat, "pgmajfault"), limit, processes);
    }

    private static CgroupSample Sample(
        long timestamp, ulong? cpu, ulong? usage, ulong? inactiveFile, ulong? rss, ulong? faults, ulong? majorFaults, ulong? limit, ulong? processes)
    {
        ulong? workingSet = usage is { } u ? (inactiveFile is { } i && i < u ? u - i : inactiveFile is null ? u : 0) : null;
        ulong? effectiveLimit = limit is { } l && l <= UnlimitedAbove ? l : null;
        ulong? available = effectiveLimit is { } max && workingSet is { } ws ? (ws < max ? max - ws : 0) : null;
        return new CgroupSample(timestamp, cpu, usage, workingSet, rss, faults, majorFaults, effectiveLimit, available, processes);
    }

    private static ulong? Value(Dictionary<string, ulong>? values, string key) =>
        values is not null && values.TryGetValue(key, out var value) ? value : null;

    /// <summary>A file holding one number; null when missing, unreadable or not a number (e.g. "max").</summary>
    private static ulong? ReadNumber(string? dir, string file)
    {
        var text = ReadText(dir, file);
        return text is not null && ulong.TryParse(text.AsSpan().Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : null;
    }

    /// <summary>A flat keyed file ("key value" lines: memory.stat, cpu.stat); null when missing.</summary>
    internal static Dictionary<string, ulong>? ReadKeyed(string? dir, string file)
    {
        var text = ReadText(dir, file);
        return text is null ? null : ParseKeyed(text);
    }

    internal static Dictionary<string, ulong> ParseKeyed(string text)
    {
        var values = new Dictionary<string, ulong>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var space = line.IndexOf(' ');
            if (space <= 0)
                continue;
            if (ulong.TryParse(line.AsSpan(space + 1).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value))
                values[line[..space]] = value;
        }
        return values;
    }

    private static ulong? CountProcs(string? dir)
    {
        var text = ReadText(dir, "cgroup.procs");
        return text is null ? null : (ulong)text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Length;
    }

    private static string? ReadText(string? dir, string file)
    {
        if (dir is null)
            return null;
        try
        {
            return File.ReadAllText(Path.Combine(dir, file));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Gone with its container, or never there (a controller or file this kernel lacks).
            return null;
        }
    }
}
