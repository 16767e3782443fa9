using System.Text.Json.Nodes;
using Runtime.V1;

namespace Containerd.Daemon.Cri.Specs;

/// <summary>
/// CRI's LinuxContainerResources as an OCI <c>linux.resources</c> object, the
/// JSON <c>runc update --resources -</c> reads (and a spec's resources), with
/// containerd's WithResources rules: a field that is 0 (or empty) leaves the
/// current value; a memory limit without a swap limit sets swap to the same
/// value (no swapping) when the host has a swap controller; hugepage limits
/// only when the hugetlb controller exists (containerd's default tolerates
/// its absence); unified entries are merged key by key. oom_score_adj is a
/// process property, not a cgroup one, so it is not part of the resources.
/// </summary>
public static class LinuxResourcesJson
{
    /// <summary>
    /// <paramref name="current"/> (a spec's <c>linux.resources</c>, or null)
    /// with <paramref name="update"/> applied; <paramref name="current"/> is not
    /// modified. Throws <see cref="ArgumentException"/> for a negative CPU
    /// period or shares (unsigned in OCI).
    /// </summary>
    /// <param name="swapAvailable">The host limits swap (see <see cref="SwapControllerAvailable"/>).</param>
    /// <param name="hugetlbAvailable">The host has the hugetlb controller (see <see cref="HugetlbControllerAvailable"/>).</param>
    public static JsonObject Apply(JsonObject? current, LinuxContainerResources update, bool swapAvailable, bool hugetlbAvailable)
    {
        if (update.CpuPeriod < 0)
            throw new ArgumentException($"cpu_period {update.CpuPeriod} is negative", nameof(update));
        if (update.CpuShares < 0)
            throw new ArgumentException($"cpu_shares {update.CpuShares} is negative", nameof(update));

        var resources = current?.DeepClone().AsObject() ?? new JsonObject();
        if (update.CpuPeriod != 0)
            Section(resources, "cpu")["period"] = (ulong)update.CpuPeriod;
        if (update.CpuQuota != 0)
            Section(resources, "cpu")["quota"] = update.CpuQuota;
        if (update.CpuShares != 0)
            Section(resources, "cpu")["shares"] = (ulong)update.CpuShares;
        if (update.CpusetCpus.Length > 0)
            Section(resources, "cpu")["cpus"] = update.CpusetCpus;
        if (update.CpusetMems.Length > 0)
            Section(resources, "cpu")["mems"] = update.CpusetMems;

        if (update.MemoryLimitInBytes != 0)
        {
            Section(resources, "memory")["limit"] = update.MemoryLimitInBytes;
            // Swap equal to the limit keeps the container from swapping by default.
            if (update.MemorySwapLimitInBytes == 0 && swapAvailable)
                Section(resources, "memory")["swap"] = update.MemoryLimitInBytes;
        }
        if (update.MemorySwapLimitInBytes != 0 && swapAvailable)
            Section(resources, "memory")["swap"] = update.MemorySwapLimitInBytes;

        if (hugetlbAvailable && update.HugepageLimits.Count > 0)
        {
            var limits = resources["hugepageLimits"] as JsonArray ?? [];
            resources["hugepageLimits"] = limits;
            foreach (var limit in update.HugepageLimits)
                limits.Add((JsonNode)new JsonObject { ["pageSize"] = limit.PageSize, ["limit"] = limit.Limit });
        }

        if (update.Unified.Count > 0)
        {
            var unified = Section(resources, "unified");
            foreach (var (key, value) in update.Unified)
                unified[key] = value;
        }
        return resources;
    }

    /// <summary>
    /// The JSON text for <c>ITask.UpdateAsync</c>: <paramref name="current"/>
    /// with <paramref name="update"/> applied (see <see cref="Apply"/>), the
    /// host's controllers detected under <paramref name="cgroupRoot"/>.
    /// </summary>
    public static string ToJson(LinuxContainerResources update, JsonObject? current = null, string cgroupRoot = "/sys/fs/cgroup") =>
        Apply(current, update, SwapControllerAvailable(cgroupRoot), HugetlbControllerAvailable(cgroupRoot)).ToJsonString();

    /// <summary>
    /// Whether swap can be limited: v1 has memory.memsw.limit_in_bytes (swap
    /// accounting on); v2 has memory.swap.max in our own cgroup (the root has none).
    /// </summary>
    public static bool SwapControllerAvailable(string cgroupRoot = "/sys/fs/cgroup", string ownCgroupFile = "/proc/self/cgroup")
    {
        if (!File.Exists(Path.Combine(cgroupRoot, "cgroup.controllers")))
            return File.Exists(Path.Combine(cgroupRoot, "memory", "memory.memsw.limit_in_bytes"));
        try
        {
            var own = File.ReadLines(ownCgroupFile).FirstOrDefault(l => l.StartsWith("0::", StringComparison.Ordinal));
            return own is not null && File.Exists(Path.Combine(cgroupRoot, own[3..].Trim('/'), "memory.swap.max"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Whether the hugetlb controller exists: a v1 hierarchy of its own, or listed in v2's cgroup.controllers.</summary>
    public static bool HugetlbControllerAvailable(string cgroupRoot = "/sys/fs/cgroup")
    {
        var controllers = Path.Combine(cgroupRoot, "cgroup.controllers");
        try
        {
            return File.Exists(controllers)
                ? File.ReadAllText(controllers).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Contains("hugetlb")
                : Directory.Exists(Path.Combine(cgroupRoot, "hugetlb"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static JsonObject Section(JsonObject resources, string name)
    {
        if (resources[name] is JsonObject existing)
            return existing;
        var section = new JsonObject();
        resources[name] = section;
        return section;
    }
}
