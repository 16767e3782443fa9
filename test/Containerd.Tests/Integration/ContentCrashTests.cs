using System.Diagnostics;
using System.Reflection;
using System.Security.Cryptography;
using Containerd.Daemon.Content;
using Containerd.Tests.Support;

namespace Containerd.Tests.Integration;

/// <summary>
/// A writer killed with SIGKILL in the middle of a write (a real process: the
/// ContentWriter helper, the daemon's ContentStore over its stdin) leaves no
/// visible blob, only a temporary file the next start-up removes.
/// </summary>
[TestFixture]
public sealed class ContentCrashTests
{
    private DirectoryInfo _root = null!;

    [SetUp]
    public void SetUp() => _root = Directory.CreateTempSubdirectory("content-crash-");

    [TearDown]
    public void TearDown() => _root.Delete(recursive: true);

    [Test]
    public async Task A_writer_killed_mid_write_leaves_no_blob_and_start_up_removes_its_temporary_file()
    {
        var data = RandomNumberGenerator.GetBytes(512 * 1024);
        using var writer = StartWriter();
        await writer.StandardInput.BaseStream.WriteAsync(data.AsMemory(0, 256 * 1024));
        await writer.StandardInput.BaseStream.FlushAsync();
        var ingest = Path.Combine(_root.FullName, "ingest");
        await WaitUntilAsync(() => Directory.Exists(ingest)
            && Directory.GetFiles(ingest).Any(f => new FileInfo(f).Length >= 256 * 1024), writer);

        writer.Kill(); // SIGKILL: no finally block, no catch in ContentStore runs
        await writer.WaitForExitAsync();

        var restarted = new ContentStore(_root.FullName);
        Assert.That(restarted.List(), Is.Empty, "no blob is visible");
        var blobs = Path.Combine(_root.FullName, "blobs", "sha256");
        Assert.That(Directory.Exists(blobs) ? Directory.GetFileSystemEntries(blobs) : [], Is.Empty);
        Assert.That(restarted.Info(DigestOf(data)), Is.Null);
        Assert.That(Directory.GetFiles(ingest), Has.Length.EqualTo(1), "the crash left its temporary file");
        Assert.That(restarted.RemoveIngestLeftovers(), Is.EqualTo(1));
        Assert.That(Directory.GetFileSystemEntries(ingest), Is.Empty);
    }

    [Test]
    public async Task A_writer_that_is_not_killed_commits_the_blob()
    {
        // The control: the same helper, allowed to finish, commits what it was given.
        var data = RandomNumberGenerator.GetBytes(512 * 1024);
        using var writer = StartWriter();
        await writer.StandardInput.BaseStream.WriteAsync(data);
        writer.StandardInput.Close();
        var digest = (await writer.StandardOutput.ReadToEndAsync()).Trim();
        await writer.WaitForExitAsync();

        Assert.That((writer.ExitCode, digest), Is.EqualTo((0, DigestOf(data))), await writer.StandardError.ReadToEndAsync());
        Assert.That(new ContentStore(_root.FullName).List().Select(i => (i.Digest, i.Size)), Is.EqualTo(new[] { (digest, (long)data.Length) }));
    }

    private Process StartWriter()
    {
        // Built beside this assembly's configuration by Containerd.Tests' project reference.
        var configuration = typeof(ContentCrashTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var helper = Path.Combine(TestPaths.RepoRoot, "test", "ContentWriter", "bin", configuration, "net10.0", "ContentWriter.dll");
        Assert.That(File.Exists(helper), $"{helper} was not built");
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.ArgumentList.Add(helper);
        info.ArgumentList.Add(_root.FullName);
        return Process.Start(info)!;
    }

    private static async Task WaitUntilAsync(Func<bool> condition, Process writer)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            if (writer.HasExited)
                Assert.Fail($"the writer exited ({writer.ExitCode}): {await writer.StandardError.ReadToEndAsync()}");
            if (DateTime.UtcNow > deadline)
                Assert.Fail("the writer never got the bytes into its temporary file");
            await Task.Delay(20);
        }
    }

    private static string DigestOf(byte[] data) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data));
}
