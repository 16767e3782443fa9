using Containerd.Shim.Mounts;

namespace Containerd.UnitTests.Shim.Mounts;

public sealed class MountOptionsTests
{
    [Test]
    public void No_options_mean_no_flags_no_propagation_and_no_data()
    {
        var options = MountOptions.Parse("overlay", []);

        Assert.That(options, Is.EqualTo(new MountOptions(MountFlags.None, MountFlags.None, null)));
        Assert.That(options.BindRemountFlags, Is.Null);
    }

    [TestCase("ro", (ulong)MountFlags.ReadOnly)]
    [TestCase("nosuid", (ulong)MountFlags.NoSuid)]
    [TestCase("nodev", (ulong)MountFlags.NoDev)]
    [TestCase("noexec", (ulong)MountFlags.NoExec)]
    [TestCase("sync", (ulong)MountFlags.Synchronous)]
    [TestCase("dirsync", (ulong)MountFlags.DirSync)]
    [TestCase("remount", (ulong)MountFlags.Remount)]
    [TestCase("mand", (ulong)MountFlags.MandLock)]
    [TestCase("noatime", (ulong)MountFlags.NoAtime)]
    [TestCase("nodiratime", (ulong)MountFlags.NoDirAtime)]
    [TestCase("relatime", (ulong)MountFlags.RelAtime)]
    [TestCase("strictatime", (ulong)MountFlags.StrictAtime)]
    [TestCase("bind", (ulong)MountFlags.Bind)]
    [TestCase("rbind", (ulong)(MountFlags.Bind | MountFlags.Recursive))]
    public void A_flag_word_sets_its_flag(string word, ulong flag)
    {
        var options = MountOptions.Parse("ext4", [word]);

        Assert.That(options.Flags, Is.EqualTo((MountFlags)flag));
        Assert.That(options.Propagation, Is.EqualTo(MountFlags.None));
        Assert.That(options.Data, Is.Null);
    }

    [TestCase("ro", "rw", (ulong)MountFlags.ReadOnly)]
    [TestCase("nosuid", "suid", (ulong)MountFlags.NoSuid)]
    [TestCase("nodev", "dev", (ulong)MountFlags.NoDev)]
    [TestCase("noexec", "exec", (ulong)MountFlags.NoExec)]
    [TestCase("sync", "async", (ulong)MountFlags.Synchronous)]
    [TestCase("mand", "nomand", (ulong)MountFlags.MandLock)]
    [TestCase("noatime", "atime", (ulong)MountFlags.NoAtime)]
    [TestCase("nodiratime", "diratime", (ulong)MountFlags.NoDirAtime)]
    [TestCase("relatime", "norelatime", (ulong)MountFlags.RelAtime)]
    [TestCase("strictatime", "nostrictatime", (ulong)MountFlags.StrictAtime)]
    public void The_opposite_word_clears_the_flag_and_the_last_word_wins(string set, string clear, ulong flag)
    {
        Assert.That(MountOptions.Parse("ext4", [set, clear]).Flags, Is.EqualTo(MountFlags.None));
        Assert.That(MountOptions.Parse("ext4", [clear, set]).Flags, Is.EqualTo((MountFlags)flag));
        Assert.That(MountOptions.Parse("ext4", [clear]).Flags, Is.EqualTo(MountFlags.None), "clearing an unset flag is harmless");
    }

    [Test]
    public void Flags_accumulate()
    {
        var options = MountOptions.Parse("proc", ["nosuid", "noexec", "nodev"]);

        Assert.That(options.Flags, Is.EqualTo(MountFlags.NoSuid | MountFlags.NoExec | MountFlags.NoDev));
    }

    [TestCase("")]
    [TestCase("defaults")]
    public void Empty_words_and_defaults_change_nothing(string word)
    {
        Assert.That(MountOptions.Parse("ext4", [word, "ro", word]), Is.EqualTo(new MountOptions(MountFlags.ReadOnly, MountFlags.None, null)));
    }

    [Test]
    public void A_bind_type_is_a_bind_mount()
    {
        Assert.That(MountOptions.Parse("bind", []).Flags, Is.EqualTo(MountFlags.Bind));
    }

    [Test]
    public void An_rbind_type_is_a_recursive_bind_mount()
    {
        Assert.That(MountOptions.Parse("rbind", []).Flags, Is.EqualTo(MountFlags.Bind | MountFlags.Recursive));
    }

    [Test]
    public void Rbind_option_on_a_bind_type_makes_it_recursive()
    {
        Assert.That(MountOptions.Parse("bind", ["rbind"]).Flags, Is.EqualTo(MountFlags.Bind | MountFlags.Recursive));
    }

    [Test]
    public void Any_other_type_starts_without_flags()
    {
        Assert.That(MountOptions.Parse("", []).Flags, Is.EqualTo(MountFlags.None));
        Assert.That(MountOptions.Parse("Bind", []).Flags, Is.EqualTo(MountFlags.None), "types are matched exactly");
    }

    [TestCase("private", (ulong)MountFlags.Private)]
    [TestCase("rprivate", (ulong)(MountFlags.Private | MountFlags.Recursive))]
    [TestCase("shared", (ulong)MountFlags.Shared)]
    [TestCase("rshared", (ulong)(MountFlags.Shared | MountFlags.Recursive))]
    [TestCase("slave", (ulong)MountFlags.Slave)]
    [TestCase("rslave", (ulong)(MountFlags.Slave | MountFlags.Recursive))]
    [TestCase("unbindable", (ulong)MountFlags.Unbindable)]
    [TestCase("runbindable", (ulong)(MountFlags.Unbindable | MountFlags.Recursive))]
    public void A_propagation_word_is_kept_apart_from_the_flags(string word, ulong propagation)
    {
        // The kernel takes propagation in a mount call of its own.
        var options = MountOptions.Parse("bind", [word]);

        Assert.That(options.Propagation, Is.EqualTo((MountFlags)propagation));
        Assert.That(options.Flags, Is.EqualTo(MountFlags.Bind));
        Assert.That(options.Data, Is.Null);
    }

    [Test]
    public void The_last_propagation_word_wins()
    {
        Assert.That(MountOptions.Parse("bind", ["rshared", "private"]).Propagation, Is.EqualTo(MountFlags.Private));
        Assert.That(MountOptions.Parse("bind", ["private", "rslave"]).Propagation, Is.EqualTo(MountFlags.Slave | MountFlags.Recursive));
    }

    [Test]
    public void Unknown_words_are_filesystem_data_joined_with_commas_in_order()
    {
        var options = MountOptions.Parse("overlay", ["ro", "lowerdir=/l1:/l2", "upperdir=/u", "nosuid", "workdir=/w", "index=off"]);

        Assert.That(options.Data, Is.EqualTo("lowerdir=/l1:/l2,upperdir=/u,workdir=/w,index=off"));
        Assert.That(options.Flags, Is.EqualTo(MountFlags.ReadOnly | MountFlags.NoSuid));
    }

    [Test]
    public void Tmpfs_size_and_mode_are_data()
    {
        var options = MountOptions.Parse("tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"]);

        Assert.That(options, Is.EqualTo(new MountOptions(MountFlags.NoSuid | MountFlags.StrictAtime, MountFlags.None, "mode=755,size=65536k")));
    }

    [TestCase("RO")]
    [TestCase("loop")]
    [TestCase("nofail")]
    [TestCase("x-systemd.automount")]
    public void A_word_that_is_not_a_known_flag_is_passed_as_data_verbatim(string word)
    {
        var options = MountOptions.Parse("ext4", [word]);

        Assert.That(options.Data, Is.EqualTo(word));
        Assert.That(options.Flags, Is.EqualTo(MountFlags.None));
    }

    [Test]
    public void A_read_only_bind_needs_a_second_remount_call()
    {
        // The kernel ignores ro on a new bind mount.
        var options = MountOptions.Parse("bind", ["rbind", "ro"]);

        Assert.That(options.Flags, Is.EqualTo(MountFlags.Bind | MountFlags.Recursive | MountFlags.ReadOnly));
        Assert.That(options.BindRemountFlags, Is.EqualTo(MountFlags.Remount | MountFlags.Bind | MountFlags.ReadOnly));
    }

    [Test]
    public void The_bind_remount_carries_every_per_mount_flag_and_nothing_else()
    {
        var options = MountOptions.Parse("none", ["bind", "ro", "nosuid", "nodev", "noexec", "noatime", "nodiratime", "sync", "dirsync", "mand", "rprivate"]);

        Assert.That(options.BindRemountFlags, Is.EqualTo(MountFlags.Remount | MountFlags.Bind | MountFlags.ReadOnly
            | MountFlags.NoSuid | MountFlags.NoDev | MountFlags.NoExec | MountFlags.NoAtime | MountFlags.NoDirAtime));
    }

    [TestCase("relatime", (ulong)MountFlags.RelAtime)]
    [TestCase("strictatime", (ulong)MountFlags.StrictAtime)]
    public void An_atime_mode_alone_also_needs_the_bind_remount(string word, ulong flag)
    {
        Assert.That(MountOptions.Parse("bind", [word]).BindRemountFlags, Is.EqualTo(MountFlags.Remount | MountFlags.Bind | (MountFlags)flag));
    }

    [Test]
    public void A_plain_bind_needs_no_remount()
    {
        Assert.That(MountOptions.Parse("bind", ["rw", "rprivate"]).BindRemountFlags, Is.Null);
        Assert.That(MountOptions.Parse("bind", ["sync"]).BindRemountFlags, Is.Null, "sync is not a per-mount flag");
    }

    [Test]
    public void A_read_only_non_bind_mount_needs_no_remount()
    {
        Assert.That(MountOptions.Parse("ext4", ["ro"]).BindRemountFlags, Is.Null);
    }

    [Test]
    public void A_read_only_remount_is_a_single_call()
    {
        // Already a remount: the flags go in the one call, there is no new bind to fix up.
        var remount = MountOptions.Parse("", ["remount", "ro"]);
        var bindRemount = MountOptions.Parse("bind", ["remount", "ro"]);

        Assert.That(remount.Flags, Is.EqualTo(MountFlags.Remount | MountFlags.ReadOnly));
        Assert.That(remount.BindRemountFlags, Is.Null);
        Assert.That(bindRemount.Flags, Is.EqualTo(MountFlags.Remount | MountFlags.Bind | MountFlags.ReadOnly));
        Assert.That(bindRemount.BindRemountFlags, Is.Null);
    }
}
