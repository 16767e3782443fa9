using Microsoft.Extensions.Logging;

namespace Containerd.Daemon.Cri.Network;

/// <summary>
/// Finds the pod network in a CNI configuration directory the way containerd
/// (go-cni WithDefaultConf) does: the first of the *.conf, *.conflist and *.json
/// files in lexical order. An invalid file is skipped with its reason logged, as
/// libcni's callers do, and the next one is tried. Reads the directory on every
/// call: it is a few small files, and an operator's change applies at once.
/// </summary>
public sealed class CniConfigLoader
{
    private static readonly string[] Extensions = [".conf", ".conflist", ".json"];

    private readonly string _confDir;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private string? _lastReport;

    public CniConfigLoader(string confDir, ILogger logger)
    {
        _confDir = confDir;
        _logger = logger;
    }

    public string ConfDir => _confDir;

    /// <summary>The network to attach pods to, or null with the reason (a not-ready <see cref="CniStatus"/>).</summary>
    public (CniNetworkConfig? Config, CniStatus Status) Load()
    {
        IReadOnlyList<string> files;
        try
        {
            files = ConfigFiles(_confDir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return NotReady($"cannot read CNI config directory {_confDir}: {e.Message}");
        }
        if (files.Count == 0)
            return NotReady($"no network config found in {_confDir}");

        var skipped = new List<string>();
        foreach (var file in files)
        {
            string text;
            try
            {
                text = File.ReadAllText(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                skipped.Add($"{file}: {e.Message}");
                continue;
            }
            try
            {
                var config = CniNetworkConfig.ParseFile(file, text);
                Report(skipped, $"CNI network \"{config.Name}\" from {file}");
                return (config, CniStatus.ReadyStatus($"network \"{config.Name}\" (cniVersion {config.CniVersion}) from {file}"));
            }
            catch (FormatException e)
            {
                skipped.Add($"{file}: {e.Message}");
            }
        }
        return NotReady($"no valid network config found in {_confDir}: {string.Join("; ", skipped)}", skipped);
    }

    /// <summary>The candidate files, sorted ordinally (as Go's sort.Strings); an absent directory has none.</summary>
    public static IReadOnlyList<string> ConfigFiles(string confDir)
    {
        if (!Directory.Exists(confDir))
            return [];
        var files = Directory.EnumerateFiles(confDir)
            .Where(f => Extensions.Contains(Path.GetExtension(f), StringComparer.Ordinal))
            .ToList();
        files.Sort(StringComparer.Ordinal);
        return files;
    }

    private (CniNetworkConfig?, CniStatus) NotReady(string detail, IReadOnlyList<string>? skipped = null)
    {
        Report(skipped ?? [], detail);
        return (null, CniStatus.NotReady(detail));
    }

    /// <summary>
    /// Logs skipped files and the outcome once per change: kubelet asks for
    /// Status every few seconds, and the same warning each time would drown the log.
    /// </summary>
    private void Report(IReadOnlyList<string> skipped, string outcome)
    {
        var report = string.Join("\n", skipped) + "\n" + outcome;
        lock (_gate)
        {
            if (report == _lastReport)
                return;
            _lastReport = report;
        }
        foreach (var reason in skipped)
            _logger.LogWarning("skipping invalid CNI config {Reason}", reason);
        _logger.LogInformation("CNI config in {ConfDir}: {Outcome}", _confDir, outcome);
    }
}
