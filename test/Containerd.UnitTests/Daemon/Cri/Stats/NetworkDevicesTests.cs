using Containerd.Daemon.Cri.Stats;

namespace Containerd.UnitTests.Daemon.Cri.Stats;

public sealed class NetworkDevicesTests
{
    private const string NetDev =
        "Inter-|   Receive                                                |  Transmit\n" +
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n" +
        "    lo:     840      10    0    0    0     0          0         0      840      10    0    0    0     0       0          0\n" +
        "  eth0:    1296      16    2    0    0     0          0         0      656       8    1    0    0     0       0          0\n" +
        "  net1:18446744073709551615 1 0 0 0 0 0 0 7 1 3 0 0 0 0 0\n";

    [Test]
    public void Each_interface_has_its_bytes_and_errors()
    {
        Assert.That(NetworkDevices.Parse(NetDev), Is.EqualTo(new[]
        {
            new InterfaceCounters("lo", 840, 0, 840, 0),
            new InterfaceCounters("eth0", 1296, 2, 656, 1),
            new InterfaceCounters("net1", ulong.MaxValue, 0, 7, 3),
        }));
    }

    [Test]
    public void Short_or_garbled_lines_are_skipped()
    {
        Assert.That(NetworkDevices.Parse("eth0: 1 2 3\nx: a b c d e f g h i j k\n: 1 2 3 4 5 6 7 8 9 10 11\n"), Is.Empty);
        Assert.That(NetworkDevices.Parse(""), Is.Empty);
    }

    [Test]
    public void Read_drops_loopback_and_a_gone_process_is_null()
    {
        var proc = Path.Combine(Path.GetTempPath(), "fakeproc-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            Directory.CreateDirectory(Path.Combine(proc, "42", "net"));
            File.WriteAllText(Path.Combine(proc, "42", "net", "dev"), NetDev);
            Assert.That(NetworkDevices.Read(42, proc)!.Select(i => i.Name), Is.EqualTo(new[] { "eth0", "net1" }));
            Assert.That(NetworkDevices.Read(43, proc), Is.Null);
        }
        finally
        {
            Directory.Delete(proc, recursive: true);
        }
    }

    [Test]
    public void Our_own_namespace_reads()
    {
        var interfaces = NetworkDevices.Read(Environment.ProcessId);
        Assert.That(interfaces, Is.Not.Null);
        Assert.That(interfaces!.Select(i => i.Name), Has.None.EqualTo("lo"));
    }
}
