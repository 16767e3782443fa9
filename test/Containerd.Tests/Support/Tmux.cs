using System.Diagnostics;

namespace Containerd.Tests.Support;

/// <summary>
/// A private tmux server (its own socket in a temporary directory, no config) with one session running a
/// shell script in a real pty: tests type into it with send-keys and read the
/// screen with capture-pane, as a person at a terminal would. Disposing kills
/// the server and everything still running in it.
/// </summary>
public sealed class Tmux : IAsyncDisposable
{
    private const string Session = "t";
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("tmux-test-");

    private Tmux()
    {
    }

    /// <summary>A directory the script may write files to (removed on dispose).</summary>
    public string Dir => _dir.FullName;

    /// <param name="script">Makes the script from <see cref="Dir"/>, where it may keep files.</param>
    public static async Task<Tmux> StartAsync(Func<string, string> script, int width, int height)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        if (!path.Split(':').Any(dir => dir.Length > 0 && File.Exists(Path.Combine(dir, "tmux"))))
            Assert.Fail("tmux not found on PATH: run scripts/install-deps.sh --test (as root) to install it");
        var tmux = new Tmux();
        try
        {
            var file = Path.Combine(tmux.Dir, "script.sh");
            await File.WriteAllTextAsync(file, script(tmux.Dir));
            await tmux.RunAsync("-f", "/dev/null", "new-session", "-d", "-s", Session,
                "-x", width.ToString(), "-y", height.ToString(), "sh " + Quote(file));
            return tmux;
        }
        catch
        {
            await tmux.DisposeAsync();
            throw;
        }
    }

    /// <summary>Single-quotes a word for the script's shell.</summary>
    public static string Quote(string word) => "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>Types <paramref name="text"/> literally (no key names), then Enter if asked.</summary>
    public async Task TypeAsync(string text, bool enter = true)
    {
        await RunAsync("send-keys", "-t", Session, "-l", text);
        if (enter)
            await KeysAsync("Enter");
    }

    /// <summary>Sends tmux key names, e.g. C-p, Enter.</summary>
    public Task KeysAsync(params string[] keys) => RunAsync(["send-keys", "-t", Session, .. keys]);

    public Task ResizeAsync(int width, int height) =>
        RunAsync("resize-window", "-t", Session, "-x", width.ToString(), "-y", height.ToString());

    /// <summary>The screen and its scrollback, wrapped lines joined, trailing blanks trimmed.</summary>
    public async Task<string[]> CaptureAsync()
    {
        var output = await RunAsync("capture-pane", "-p", "-J", "-S", "-500", "-t", Session);
        return output.Split('\n').Select(line => line.TrimEnd()).ToArray();
    }

    /// <summary>Polls the screen until a line satisfies <paramref name="condition"/>; fails with the screen if none does in time.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> condition, string what, TimeSpan? timeout = null)
    {
        var screen = await WaitForScreenAsync(lines => lines.Any(condition), what, timeout);
        return screen.First(condition);
    }

    /// <summary>Polls the screen until <paramref name="condition"/> holds for it; fails with the screen if it does not in time.</summary>
    public async Task<string[]> WaitForScreenAsync(Func<string[], bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (true)
        {
            var screen = await CaptureAsync();
            if (condition(screen))
                return screen;
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"the terminal never showed {what}; it shows:\n{string.Join("\n", screen)}");
                return screen;
            }
            await Task.Delay(100);
        }
    }

    /// <summary>Polls like <see cref="WaitForLineAsync(string, TimeSpan?)"/>, but answers false instead of failing.</summary>
    public async Task<bool> ShowsLineWithinAsync(string line, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if ((await CaptureAsync()).Any(l => l.Trim() == line))
                return true;
            if (DateTime.UtcNow > deadline)
                return false;
            await Task.Delay(100);
        }
    }

    /// <summary>Waits for a line that is exactly <paramref name="line"/> (after trimming).</summary>
    public Task<string> WaitForLineAsync(string line, TimeSpan? timeout = null) =>
        WaitForLineAsync(l => l.Trim() == line, $"the line \"{line}\"", timeout);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await RunAsync("kill-server");
        }
        catch (InvalidOperationException)
        {
            // Never started, or already gone.
        }
        _dir.Delete(recursive: true);
    }

    /// <summary>The server's socket lives in <see cref="Dir"/>, so removing that leaves nothing of the server behind.</summary>
    private Task<string> RunAsync(params string[] args) => RunTmuxAsync(["-S", Path.Combine(Dir, "socket"), .. args]);

    private static async Task<string> RunTmuxAsync(string[] args)
    {
        var info = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        // The panes' programs see a plain, known terminal type.
        info.Environment["TERM"] = "xterm";
        // Run from inside someone's tmux, the private server must not be mistaken for a nested session.
        info.Environment.Remove("TMUX");
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"tmux {string.Join(' ', args)} exited with {process.ExitCode}: {await stderr}");
        return await stdout;
    }
}
