using Containerd.Api.Containers;
using Containerd.Tests.Support;
using Grpc.Core;
using Microsoft.Data.Sqlite;

namespace Containerd.Tests.Integration.Hardening;

/// <summary>
/// A damaged ROOT/meta.db is refused at start with one line that says what to
/// do, and running tasks are left alone; a database deleted under a running
/// daemon is reported; kill -9 during concurrent writes loses nothing acknowledged.
/// </summary>
public sealed class DamagedMetadataTests
{
    private const int PageSize = 4096;

    [Test]
    public async Task GarbageInTheFirstPageIsRefusedWithOneClearLine()
    {
        await using var daemon = await DaemonProcess.StartAsync();
        using (var client = daemon.Connect("damaged1"))
            await client.CreateContainerAsync("record", "true");
        await daemon.StopAsync();
        Checkpoint(daemon);
        Overwrite(Database(daemon), offset: 0, length: PageSize);

        var log = await StartExpectingRefusalAsync(daemon);
        AssertOneClearLine(daemon, log);
    }

    [Test]
    public async Task GarbageInALaterPageIsRefusedAndRunningTasksAreLeftAlone()
    {
        await using var daemon = await DaemonProcess.StartAsync();
        uint pid;
        using (var client = daemon.Connect("damaged2"))
        {
            // Enough records for the table to span pages beyond the first.
            for (var i = 0; i < 40; i++)
                await client.CreateContainerAsync($"filler{i}", "true");
            pid = await client.RunAsync("survivor", "sleep", "300");
        }
        await daemon.StopAsync();
        Checkpoint(daemon);
        var backup = Database(daemon) + ".backup";
        File.Copy(Database(daemon), backup);
        Overwrite(Database(daemon), offset: PageSize, length: PageSize);

        var log = await StartExpectingRefusalAsync(daemon);
        AssertOneClearLine(daemon, log);
        Assert.That(Probe.IsAlive(pid), "a damaged database must not touch running tasks");

        // The operator restores the backup; everything is back.
        File.Copy(backup, Database(daemon), overwrite: true);
        await daemon.RestartAsync();
        using var after = daemon.Connect("damaged2");
        var listed = await after.Containers.ListAsync(new ListContainersRequest(), after.Options());
        Assert.That(listed.Containers, Has.Count.EqualTo(41));
        await after.RemoveAsync("survivor");
        for (var i = 0; i < 40; i++)
            await after.Containers.DeleteAsync(new DeleteContainerRequest { Id = $"filler{i}" }, after.Options());
        await Leaks.AssertNoneAsync(daemon);
    }

    [Test]
    public async Task DeletingTheDatabaseUnderARunningDaemonIsLogged()
    {
        await using var daemon = await DaemonProcess.StartAsync();
        File.Delete(Database(daemon));
        await Probe.UntilAsync(() => daemon.Log.Contains("was deleted while the daemon runs", StringComparison.Ordinal),
            "the daemon to notice", TimeSpan.FromSeconds(20));
        Assert.That(daemon.Log, Does.Contain(Database(daemon)));
    }

    [Test]
    public async Task KillDuringTwoHundredConcurrentCreatesKeepsEveryAcknowledgedRecord()
    {
        await using var daemon = await DaemonProcess.StartAsync();
        using var client = daemon.Connect("crashy");
        var acknowledged = new System.Collections.Concurrent.ConcurrentBag<string>();
        var creates = Enumerable.Range(0, 200).Select(async i =>
        {
            var id = $"c{i}";
            try
            {
                await client.CreateContainerAsync(id, "true");
                acknowledged.Add(id);
            }
            catch (RpcException)
            {
                // Cut off by the kill: it may or may not have been written.
            }
        }).ToList();
        await Probe.UntilAsync(() => acknowledged.Count >= 20, "some creates to be acknowledged");
        await daemon.KillAsync();
        await Task.WhenAll(creates);

        await daemon.RestartAsync();
        using var after = daemon.Connect("crashy");
        var stored = (await after.Containers.ListAsync(new ListContainersRequest(), after.Options())).Containers
            .Select(c => c.Id).ToHashSet();
        Assert.Multiple(() =>
        {
            Assert.That(daemon.Log, Does.Not.Contain("damaged"));
            Assert.That(stored, Is.SupersetOf(acknowledged), "every acknowledged create survives kill -9");
            Assert.That(stored.All(id => id.StartsWith('c')), Is.True);
        });
        TestContext.Progress.WriteLine($"acknowledged {acknowledged.Count}, stored {stored.Count} of 200");
        foreach (var id in stored)
            await after.Containers.DeleteAsync(new DeleteContainerRequest { Id = id }, after.Options());
    }

    private static string Database(DaemonProcess daemon) => Path.Combine(daemon.RootDir, "meta.db");

    /// <summary>Moves everything from the WAL into the main file, so damage to the file is damage to the data.</summary>
    private static void Checkpoint(DaemonProcess daemon)
    {
        using (var connection = new SqliteConnection($"Data Source={Database(daemon)};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
            command.ExecuteNonQuery();
        }
        foreach (var suffix in new[] { "-wal", "-shm" })
            File.Delete(Database(daemon) + suffix);
    }

    private static void Overwrite(string path, int offset, int length)
    {
        var garbage = new byte[length];
        new Random(42).NextBytes(garbage);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
        file.Seek(offset, SeekOrigin.Begin);
        file.Write(garbage);
    }

    private static async Task<string> StartExpectingRefusalAsync(DaemonProcess daemon)
    {
        var before = daemon.Log.Length;
        var error = Assert.ThrowsAsync<InvalidOperationException>(() => daemon.RestartAsync());
        Assert.That(error!.Message, Does.Contain("exited with 1"));
        // The exit can be seen before its last stderr line was read: wait for the streams to end.
        await daemon.WaitForExitAsync(TimeSpan.FromSeconds(10));
        return daemon.Log[before..];
    }

    private static void AssertOneClearLine(DaemonProcess daemon, string log)
    {
        var lines = log.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var complaint = lines.Where(l => l.Contains("meta.db", StringComparison.Ordinal)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(complaint, Has.Count.EqualTo(1), log);
            Assert.That(log, Does.Not.Contain("   at "), "no stack trace");
            Assert.That(complaint.FirstOrDefault(), Does.Contain($"metadata database {Database(daemon)} is damaged"));
            Assert.That(complaint.FirstOrDefault(), Does.Contain("restore it from a backup"));
            Assert.That(complaint.FirstOrDefault(), Does.Contain("move it aside"));
        });
    }
}
