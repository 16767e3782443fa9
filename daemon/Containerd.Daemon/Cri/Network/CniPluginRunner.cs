using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace Containerd.Daemon.Cri.Network;

/// <summary>
/// Runs one CNI plugin binary as the CNI spec says: the operation and the
/// attachment in CNI_* environment variables, the configuration on stdin, the
/// result (or a CNI error {code, msg, details}) on stdout. Each run is bounded
/// by a timeout, after which the plugin and its children are killed; the
/// process is always waited for (no zombie) and .NET opens every descriptor
/// close-on-exec, so a plugin inherits only its three pipes.
/// </summary>
public sealed class CniPluginRunner
{
    private readonly IReadOnlyList<string> _pluginDirs;
    private readonly TimeSpan _timeout;
    private readonly ILogger _logger;

    public CniPluginRunner(IReadOnlyList<string> pluginDirs, TimeSpan timeout, ILogger logger)
    {
        _pluginDirs = pluginDirs;
        _timeout = timeout;
        _logger = logger;
    }

    /// <summary>The plugin binary: <paramref name="type"/> in the first plugin directory that has it; null when none does.</summary>
    public string? Find(string type)
    {
        foreach (var dir in _pluginDirs)
        {
            var path = Path.Combine(dir, type);
            if (File.Exists(path))
                return path;
        }
        return null;
    }

    /// <summary>
    /// Runs the plugin and returns its stdout (the result; may be empty for DEL).
    /// Throws <see cref="CniException"/>: PluginNotFound, PluginFailed (with the
    /// plugin's own error), Timeout.
    /// </summary>
    public async Task<string> RunAsync(string command, string network, JsonObject config, string containerId,
        string netns, string ifName, string cniArgs, CancellationToken cancellationToken)
    {
        var type = config["type"]?.GetValue<string>() ?? "";
        var operation = command.ToLowerInvariant();
        var path = Find(type) ?? throw new CniException(CniFailure.PluginNotFound,
            $"plugin type=\"{type}\" network \"{network}\" failed ({operation}): failed to find plugin \"{type}\" in path [{string.Join(" ", _pluginDirs)}]",
            network, type);

        var start = new ProcessStartInfo(path)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        start.Environment["CNI_COMMAND"] = command;
        start.Environment["CNI_CONTAINERID"] = containerId;
        start.Environment["CNI_NETNS"] = netns;
        start.Environment["CNI_IFNAME"] = ifName;
        start.Environment["CNI_ARGS"] = cniArgs;
        start.Environment["CNI_PATH"] = string.Join(':', _pluginDirs);

        _logger.LogDebug("CNI {Command} {Plugin} of network {Network} for {ContainerId} on {Interface} in {Netns}",
            command, type, network, containerId, ifName, netns);

        Process? process;
        try
        {
            process = Process.Start(start);
        }
        catch (Exception e) when (e is Win32Exception or InvalidOperationException or IOException)
        {
            throw new CniException(CniFailure.PluginFailed,
                $"plugin type=\"{type}\" network \"{network}\" failed ({operation}): cannot run {path}: {e.Message}", network, type, inner: e);
        }
        if (process is null)
            throw new CniException(CniFailure.PluginFailed, $"plugin type=\"{type}\" network \"{network}\" failed ({operation}): cannot run {path}", network, type);

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
            var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_timeout);
            try
            {
                try
                {
                    await process.StandardInput.WriteAsync(config.ToJsonString().AsMemory(), timeout.Token).ConfigureAwait(false);
                    process.StandardInput.Close();
                }
                catch (IOException)
                {
                    // The plugin exited without reading its config (EPIPE): its exit status and output tell why.
                }
                await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                Kill(process);
                // Children of the plugin may hold the pipes open: do not wait for their end.
                if (cancellationToken.IsCancellationRequested)
                    throw;
                throw new CniException(CniFailure.Timeout,
                    $"plugin type=\"{type}\" network \"{network}\" failed ({operation}): did not finish within {_timeout.TotalSeconds:0} s and was killed",
                    network, type);
            }

            // The plugin has exited; a child it left behind may still hold stdout, so bound the read too.
            var output = await ReadAsync(stdout).ConfigureAwait(false);
            var errors = await ReadAsync(stderr).ConfigureAwait(false);
            if (process.ExitCode != 0)
                throw PluginError(type, network, operation, process.ExitCode, output, errors);
            if (!string.IsNullOrWhiteSpace(errors))
                _logger.LogDebug("CNI {Command} {Plugin} of network {Network} said on stderr: {Stderr}", command, type, network, errors.Trim());
            return output;
        }
    }

    /// <summary>The exception for a plugin that exited non-zero, from its CNI error JSON when it printed one.</summary>
    public static CniException PluginError(string type, string network, string operation, int exitCode, string stdout, string stderr)
    {
        var prefix = $"plugin type=\"{type}\" network \"{network}\" failed ({operation})";
        if (string.IsNullOrWhiteSpace(stdout))
        {
            var text = string.IsNullOrWhiteSpace(stderr)
                ? $"exit status {exitCode} with no error message"
                : $"exit status {exitCode}: {stderr.Trim()}";
            return new CniException(CniFailure.PluginFailed, $"{prefix}: {text}", network, type, pluginMessage: text);
        }
        JsonObject? error = null;
        try
        {
            error = JsonNode.Parse(stdout) as JsonObject;
        }
        catch (JsonException)
        {
        }
        if (error is null)
        {
            var text = $"exit status {exitCode}, unreadable error {stdout.Trim()}" + (string.IsNullOrWhiteSpace(stderr) ? "" : $"; stderr: {stderr.Trim()}");
            return new CniException(CniFailure.PluginFailed, $"{prefix}: {text}", network, type, pluginMessage: text);
        }
        int? code = error["code"] is JsonValue c && c.TryGetValue(out int n) ? n : null;
        var msg = error["msg"] is JsonValue m && m.TryGetValue(out string? s) ? s : null;
        var details = error["details"] is JsonValue d && d.TryGetValue(out string? t) && t.Length > 0 ? t : null;
        var message = prefix + ": " + (msg ?? "(no msg)") + (details is null ? "" : "; " + details) + (code is null ? "" : $" (CNI error code {code})");
        return new CniException(CniFailure.PluginFailed, message, network, type, code, msg, details);
    }

    private static async Task<string> ReadAsync(Task<string> read)
    {
        try
        {
            return await read.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return "";
        }
    }

    private void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (Exception e) when (e is InvalidOperationException or Win32Exception)
        {
            // Exited on its own meanwhile.
        }
        try
        {
            // Reaped here, so the killed plugin is never left a zombie.
            process.WaitForExit(5000);
        }
        catch (InvalidOperationException e)
        {
            _logger.LogDebug("waiting for a killed CNI plugin: {Error}", e.Message);
        }
    }
}
