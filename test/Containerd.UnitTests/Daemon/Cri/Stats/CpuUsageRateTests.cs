using Containerd.Daemon.Cri.Stats;

namespace Containerd.UnitTests.Daemon.Cri.Stats;

public sealed class CpuUsageRateTests
{
    private const long Second = 1_000_000_000;

    [Test]
    public void The_first_sample_is_zero_then_the_rate_is_usage_over_time()
    {
        var rate = new CpuUsageRate();
        Assert.That(rate.Update("c1", 10 * Second, 5 * Second), Is.Zero);
        // 1.5 s of CPU in 2 s of wall time: 0.75 of a core.
        Assert.That(rate.Update("c1", 12 * Second, 6_500_000_000), Is.EqualTo(750_000_000));
        // Two cores busy for half a second.
        Assert.That(rate.Update("c1", 12 * Second + Second / 2, 7_500_000_000), Is.EqualTo(2_000_000_000));
    }

    [Test]
    public void Ids_have_their_own_previous_samples()
    {
        var rate = new CpuUsageRate();
        rate.Update("a", 0, 0);
        rate.Update("b", 0, 1000);
        Assert.That(rate.Update("a", Second, Second / 4), Is.EqualTo(250_000_000));
        Assert.That(rate.Update("b", Second, 1000), Is.Zero);
    }

    [Test]
    public void A_sample_not_later_than_the_previous_gives_zero_and_keeps_the_reference()
    {
        var rate = new CpuUsageRate();
        rate.Update("c", 10 * Second, 0);
        Assert.That(rate.Update("c", 10 * Second, Second), Is.Zero);
        Assert.That(rate.Update("c", 9 * Second, Second), Is.Zero);
        Assert.That(rate.Update("c", 11 * Second, Second), Is.EqualTo(1_000_000_000), "still measured from the sample at 10 s");
    }

    [Test]
    public void A_counter_that_went_backwards_gives_zero_and_becomes_the_reference()
    {
        var rate = new CpuUsageRate();
        rate.Update("c", 0, 10 * Second);
        Assert.That(rate.Update("c", Second, Second), Is.Zero);
        Assert.That(rate.Update("c", 2 * Second, Second + Second / 10), Is.EqualTo(100_000_000));
    }

    [Test]
    public void A_forgotten_id_starts_over()
    {
        var rate = new CpuUsageRate();
        rate.Update("c", 0, 0);
        rate.Forget("c");
        Assert.That(rate.Update("c", Second, Second), Is.Zero);
    }

    [Test]
    public void Concurrent_updates_of_many_ids_do_not_interfere()
    {
        var rate = new CpuUsageRate();
        Parallel.For(0, 64, i =>
        {
            var id = "c" + i;
            rate.Update(id, 0, 0);
            for (var t = 1; t <= 50; t++)
                Assert.That(rate.Update(id, t * Second, (ulong)t * (Second / 2)), Is.EqualTo(500_000_000));
        });
    }
}
