using Containerd.Shared.Users;

namespace Containerd.UnitTests.Shared;

/// <summary>Users and groups of a --rootfs directory: read in place, links refused rather than resolved on the host.</summary>
public sealed class UserFilesTests
{
    private string _root = null!;

    [SetUp]
    public void CreateRoot()
    {
        _root = Directory.CreateTempSubdirectory("ctrd-users-").FullName;
        Directory.CreateDirectory(Path.Combine(_root, "etc"));
    }

    [TearDown]
    public void RemoveRoot() => Directory.Delete(_root, recursive: true);

    [Test]
    public void Names_resolve_from_the_directory_s_files()
    {
        File.WriteAllText(Path.Combine(_root, "etc", "passwd"), "nobody:x:65534:65534::/:/bin/false\n");
        File.WriteAllText(Path.Combine(_root, "etc", "group"), "nogroup:x:65534:\nstaff:x:50:nobody\n");
        var user = UserFiles.FromDirectory(_root, "rootfs " + _root).Resolve("nobody");
        Assert.That((user.Uid, user.Gid, user.AdditionalGids), Is.EqualTo((65534u, 65534u, new uint[] { 65534, 50 })));
    }

    [Test]
    public void Missing_files_are_no_database_and_a_name_then_fails_naming_the_rootfs()
    {
        var database = UserFiles.FromDirectory(_root, "rootfs " + _root);
        Assert.That(database.Resolve("1000").Uid, Is.EqualTo(1000u));
        var error = Assert.Throws<UserLookupException>(() => database.Resolve("nobody"));
        Assert.That(error!.Message, Is.EqualTo($"rootfs {_root} has no /etc/passwd to look up user \"nobody\" in"));
    }

    [Test]
    public void A_symbolic_link_at_the_file_or_at_etc_is_refused()
    {
        File.CreateSymbolicLink(Path.Combine(_root, "etc", "passwd"), "/etc/passwd");
        var file = Assert.Throws<UserLookupException>(() => UserFiles.FromDirectory(_root, "rootfs " + _root));
        Assert.That(file!.Message, Does.Contain("/etc/passwd of rootfs").And.Contain("symbolic link (to /etc/passwd)"));

        Directory.Delete(Path.Combine(_root, "etc"), recursive: true);
        Directory.CreateSymbolicLink(Path.Combine(_root, "etc"), "/etc");
        var directory = Assert.Throws<UserLookupException>(() => UserFiles.FromDirectory(_root, "rootfs " + _root));
        Assert.That(directory!.Message, Does.Contain("/etc of rootfs").And.Contain("symbolic link (to /etc)"));
    }
}
