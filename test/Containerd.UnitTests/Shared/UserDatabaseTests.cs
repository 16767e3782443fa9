using Containerd.Shared.Users;

namespace Containerd.UnitTests.Shared;

/// <summary>passwd/group parsing and containerd's user-string resolution (oci.WithUser, WithAdditionalGIDs).</summary>
public sealed class UserDatabaseTests
{
    private const string Source = "image example/app:1";

    private const string Passwd = """
        # users
        root:x:0:0:root:/root:/bin/sh

        nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
        app:x:1000:1001::/home/app:/bin/sh
        broken line without colons
        baduid:x:abc:1:::
        short:x:5
        +nisuser::::::
        :x:7:7:::
          spaced:x:1200:1200::/:/bin/sh  
        app:x:2000:2000:second app, ignored:/:/bin/sh
        huge:x:4294967295:1:::
        """;

    private const string Group = """
        root:x:0:
        # groups
        nogroup:x:65534:
        staff:x:50:app, nobody
        app:x:1001:app
        wheel:x:10:root,app
        bad:x:notanumber:app
        audio:x:29:app,spaced
        """;

    private static UserDatabase Database => UserDatabase.Parse(Passwd, Group, Source);

    [Test]
    public void Passwd_skips_comments_blank_and_malformed_lines_as_libc_does()
    {
        var users = UserDatabase.ParsePasswd(Passwd);
        Assert.That(users.Select(u => (u.Name, u.Uid, u.Gid)), Is.EqualTo(new[]
        {
            ("root", 0u, 0u), ("nobody", 65534u, 65534u), ("app", 1000u, 1001u), ("spaced", 1200u, 1200u), ("app", 2000u, 2000u),
        }));
    }

    [Test]
    public void Group_reads_members_and_skips_malformed_lines()
    {
        var groups = UserDatabase.ParseGroup(Group);
        Assert.Multiple(() =>
        {
            Assert.That(groups.Select(g => g.Name), Is.EqualTo(new[] { "root", "nogroup", "staff", "app", "wheel", "audio" }));
            Assert.That(groups.Single(g => g.Name == "staff").Members, Is.EqualTo(new[] { "app", "nobody" }));
            Assert.That(groups.Single(g => g.Name == "root").Members, Is.Empty);
        });
    }

    [Test]
    public void An_empty_user_is_root_with_root_s_supplementary_groups()
    {
        Assert.That(Database.Resolve(""), Is.EqualTo(new ProcessUser(0, 0, [0, 10])).Using<ProcessUser>(Same));
        Assert.That(UserDatabase.None(Source).Resolve(""), Is.EqualTo(new ProcessUser(0, 0, [0])).Using<ProcessUser>(Same));
    }

    [Test]
    public void A_name_takes_uid_gid_and_the_groups_listing_it_the_first_entry_winning()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Database.Resolve("nobody"), Is.EqualTo(new ProcessUser(65534, 65534, [65534, 50])).Using<ProcessUser>(Same));
            // "app" is listed by its own group (left out, as containerd does), staff, wheel and audio.
            Assert.That(Database.Resolve("app"), Is.EqualTo(new ProcessUser(1000, 1001, [1001, 50, 10, 29])).Using<ProcessUser>(Same));
            Assert.That(Database.Resolve("spaced"), Is.EqualTo(new ProcessUser(1200, 1200, [1200, 29])).Using<ProcessUser>(Same));
        });
    }

    [Test]
    public void A_numeric_uid_takes_its_gid_from_passwd_if_there_else_zero()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Database.Resolve("65534"), Is.EqualTo(new ProcessUser(65534, 65534, [65534, 50])).Using<ProcessUser>(Same));
            Assert.That(Database.Resolve("4242"), Is.EqualTo(new ProcessUser(4242, 0, [0])).Using<ProcessUser>(Same));
            Assert.That(UserDatabase.None(Source).Resolve("1000"), Is.EqualTo(new ProcessUser(1000, 0, [0])).Using<ProcessUser>(Same));
        });
    }

    [Test]
    public void User_and_group_in_every_combination()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Database.Resolve("0:nogroup"), Is.EqualTo(new ProcessUser(0, 65534, [65534, 10])).Using<ProcessUser>(Same));
            Assert.That(Database.Resolve("nobody:0"), Is.EqualTo(new ProcessUser(65534, 0, [0, 50])).Using<ProcessUser>(Same));
            Assert.That(Database.Resolve("app:staff"), Is.EqualTo(new ProcessUser(1000, 50, [50, 10, 29])).Using<ProcessUser>(Same));
            Assert.That(Database.Resolve("33:44"), Is.EqualTo(new ProcessUser(33, 44, [44])).Using<ProcessUser>(Same));
            Assert.That(UserDatabase.None(Source).Resolve("33:44"), Is.EqualTo(new ProcessUser(33, 44, [44])).Using<ProcessUser>(Same));
        });
    }

    [Test]
    public void Unknown_names_and_missing_files_are_errors_naming_them()
    {
        var user = Assert.Throws<UserLookupException>(() => Database.Resolve("nosuch"));
        Assert.That(user!.Message, Is.EqualTo($"no users found matching \"nosuch\" in /etc/passwd of {Source}"));
        var group = Assert.Throws<UserLookupException>(() => Database.Resolve("0:nosuch"));
        Assert.That(group!.Message, Is.EqualTo($"no groups found matching \"nosuch\" in /etc/group of {Source}"));
        var noPasswd = Assert.Throws<UserLookupException>(() => UserDatabase.Parse(null, Group, Source).Resolve("nobody"));
        Assert.That(noPasswd!.Message, Is.EqualTo($"{Source} has no /etc/passwd to look up user \"nobody\" in"));
        var noGroup = Assert.Throws<UserLookupException>(() => UserDatabase.Parse(Passwd, null, Source).Resolve("nobody:staff"));
        Assert.That(noGroup!.Message, Is.EqualTo($"{Source} has no /etc/group to look up group \"staff\" in"));
        // A malformed line is no entry: its name is not found rather than read as uid 0.
        Assert.Throws<UserLookupException>(() => Database.Resolve("baduid"));
    }

    [Test]
    public void Root_needs_no_files_and_without_etc_group_there_are_no_supplementary_groups()
    {
        var none = UserDatabase.None(Source);
        Assert.Multiple(() =>
        {
            Assert.That(none.Resolve("root"), Is.EqualTo(new ProcessUser(0, 0, [0])).Using<ProcessUser>(Same));
            Assert.That(none.Resolve("root:root"), Is.EqualTo(new ProcessUser(0, 0, [0])).Using<ProcessUser>(Same));
            Assert.That(UserDatabase.Parse(Passwd, null, Source).Resolve("app"), Is.EqualTo(new ProcessUser(1000, 1001, [1001])).Using<ProcessUser>(Same));
        });
    }

    [TestCase("a:b:c", "one ':' at most")]
    [TestCase(":0", "empty user")]
    [TestCase("0:", "empty group")]
    [TestCase("-1", "uid -1 out of range")]
    [TestCase("2147483648", "uid 2147483648 out of range")]
    [TestCase("99999999999999999999999", "out of range")]
    [TestCase("0:4294967296", "gid 4294967296 out of range")]
    public void Malformed_user_strings_are_refused(string user, string why)
    {
        var error = Assert.Throws<UserLookupException>(() => Database.Resolve(user));
        Assert.That(error!.Message, Does.StartWith($"invalid user \"{user}\"").And.Contain(why));
    }

    [TestCase("", false)]
    [TestCase("0", false)]
    [TestCase("1000:1000", false)]
    [TestCase("-1", false)]
    [TestCase("root", true)]
    [TestCase("nobody", true)]
    [TestCase("0:nogroup", true)]
    [TestCase("app:0", true)]
    public void Only_names_need_the_files(string user, bool needs) =>
        Assert.That(UserDatabase.NeedsFiles(user), Is.EqualTo(needs));

    private static bool Same(ProcessUser a, ProcessUser b) =>
        a.Uid == b.Uid && a.Gid == b.Gid && a.AdditionalGids.SequenceEqual(b.AdditionalGids);
}
