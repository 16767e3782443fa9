using Containerd.Ctr.Cli;
using Containerd.Shared.Native;

namespace Containerd.Ctr.Io;

/// <summary>
/// The FIFOs through which a container process's stdio reaches ctr: created
/// in a private directory, opened before the task exists (so nothing written
/// early is lost), copied to and from ctr's own streams, removed on dispose.
/// </summary>
public sealed class StdioSession : IDisposable
{
    private const string RunDirectory = "/run/containerd-cs/ctr";
    private const UnixFileMode PrivateDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private readonly string _directory;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Thread> _outputThreads = [];
    private readonly TaskCompletionSource _stdoutClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stderrClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _inputEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _stdinFd = -1;
    private int _stdoutFd = -1;
    private int _stderrFd = -1;

    private StdioSession(string directory, bool forwardStdin)
    {
        _directory = directory;
        Stdin = forwardStdin ? Path.Combine(directory, "stdin") : "";
        Stdout = Path.Combine(directory, "stdout");
        Stderr = Path.Combine(directory, "stderr");
        OutputClosed = Task.WhenAll(_stdoutClosed.Task, _stderrClosed.Task);
    }

    /// <summary>Path of the stdin FIFO, or "" when ctr's stdin is not forwarded.</summary>
    public string Stdin { get; }

    public string Stdout { get; }

    public string Stderr { get; }

    /// <summary>Completes when the process's stdout and stderr have both reached EOF.</summary>
    public Task OutputClosed { get; }

    /// <summary>Completes when ctr's own stdin has been copied to its end; never when stdin is not forwarded.</summary>
    public Task InputEnded => _inputEnded.Task;

    public static StdioSession Open(string id, bool forwardStdin)
    {
        var session = new StdioSession(CreatePrivateDirectory(id), forwardStdin);
        try
        {
            session.Start();
            return session;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Closes ctr's write end of the stdin FIFO; call once <see cref="InputEnded"/> completed and the process started.</summary>
    public void CloseInput()
    {
        var fd = Interlocked.Exchange(ref _stdinFd, -1);
        if (fd >= 0)
            Libc.Close(fd);
    }

    public void Dispose()
    {
        _stop.Cancel();
        foreach (var thread in _outputThreads)
            thread.Join(TimeSpan.FromSeconds(1));
        CloseInput();
        CloseFd(ref _stdoutFd);
        CloseFd(ref _stderrFd);
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        _stop.Dispose();
    }

    private void Start()
    {
        _stdoutFd = MakeFifo(Stdout, Libc.O_RDONLY | Libc.O_NONBLOCK);
        _stderrFd = MakeFifo(Stderr, Libc.O_RDONLY | Libc.O_NONBLOCK);
        // A non-blocking open never waits for a writer; reads are gated by poll().
        Libc.ClearNonBlocking(_stdoutFd);
        Libc.ClearNonBlocking(_stderrFd);
        StartOutput("stdout", _stdoutFd, Console.OpenStandardOutput(), _stdoutClosed);
        StartOutput("stderr", _stderrFd, Console.OpenStandardError(), _stderrClosed);

        if (Stdin.Length > 0)
        {
            // O_RDWR: the open cannot block, and the FIFO keeps a writer until
            // ctr's stdin ends, so the process sees EOF only then.
            _stdinFd = MakeFifo(Stdin, Libc.O_RDWR);
            var fd = _stdinFd;
            var input = new Thread(() =>
            {
                try
                {
                    using var source = Console.OpenStandardInput();
                    FifoCopier.CopyIn(source, fd);
                }
                finally
                {
                    _inputEnded.TrySetResult();
                }
            })
            { IsBackground = true, Name = "ctr-stdin" };
            input.Start();
        }
    }

    private void StartOutput(string name, int fd, Stream destination, TaskCompletionSource closed)
    {
        var token = _stop.Token;
        var thread = new Thread(() =>
        {
            try
            {
                FifoCopier.CopyOut(fd, destination, token);
            }
            finally
            {
                closed.TrySetResult();
            }
        })
        { IsBackground = true, Name = $"ctr-{name}" };
        _outputThreads.Add(thread);
        thread.Start();
    }

    private static int MakeFifo(string path, int flags)
    {
        if (Libc.MkFifo(path, 0b110_000_000) != 0)
            throw new CtrException($"mkfifo {path}: {Libc.ErrorText(Libc.LastError)}");
        var fd = Libc.Open(path, flags | Libc.O_CLOEXEC, 0);
        if (fd < 0)
            throw new CtrException($"open {path}: {Libc.ErrorText(Libc.LastError)}");
        return fd;
    }

    private static void CloseFd(ref int fd)
    {
        var value = Interlocked.Exchange(ref fd, -1);
        if (value >= 0)
            Libc.Close(value);
    }

    /// <summary>Under /run when ctr may write there (root), else the temp directory; mode 0700 either way.</summary>
    private static string CreatePrivateDirectory(string id)
    {
        foreach (var parent in new[] { RunDirectory, Path.Combine(Path.GetTempPath(), "ctr") })
        {
            try
            {
                Directory.CreateDirectory(parent, PrivateDirectory);
                var directory = Path.Combine(parent, $"{id}-{Path.GetRandomFileName().Replace(".", "", StringComparison.Ordinal)}");
                Directory.CreateDirectory(directory, PrivateDirectory);
                return directory;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
        throw new CtrException("cannot create a directory for the stdio FIFOs under /run/containerd-cs/ctr or the temp directory");
    }
}
