using Containerd.Daemon.Cri.Specs;
using Containerd.Shared.Oci;
using Grpc.Core;
using Runtime.V1;

namespace Containerd.UnitTests.Daemon.Cri.Specs;

/// <summary>The user string the caller resolves (containerd's generateUserString), and the raw image config.</summary>
public sealed class SpecUserTests
{
    // username | uid | gid | image user → requested ("-" for unset)
    [TestCase("-", "-", "-", "", "")]
    [TestCase("-", "-", "-", "nobody", "nobody")]
    [TestCase("alice", "-", "-", "nobody", "alice")]
    [TestCase("alice", "1000", "-", "", "alice")]
    [TestCase("alice", "1000", "50", "", "alice:50")]
    [TestCase("alice", "-", "50", "", "alice:50")]
    [TestCase("-", "1000", "-", "nobody", "1000")]
    [TestCase("-", "0", "-", "nobody", "0")]
    [TestCase("-", "1000", "50", "", "1000:50")]
    public void The_requested_user_follows_cri_precedence(string username, string uid, string gid, string image, string expected)
    {
        static Int64Value? Value(string s) => s == "-" ? null : new Int64Value { Value = long.Parse(s, System.Globalization.CultureInfo.InvariantCulture) };
        Assert.That(SpecUser.Requested(username == "-" ? null : username, Value(uid), Value(gid), image), Is.EqualTo(expected));
    }

    [Test]
    public void A_group_without_a_user_is_invalid()
    {
        var e = Assert.Throws<SpecException>(() => SpecUser.Requested(null, null, new Int64Value { Value = 5 }, "nobody"));
        Assert.That(e!.Code, Is.EqualTo(StatusCode.InvalidArgument));
        Assert.That(e.Message, Does.Contain("run_as_group 5"));
    }

    [Test]
    public void The_image_config_is_parsed_raw()
    {
        var config = ImageConfig.Parse("""{"config":{"Entrypoint":["/e"],"Cmd":["c"],"Env":["A=1"],"WorkingDir":"/w","User":"nobody:users"}}"""u8);
        Assert.Multiple(() =>
        {
            Assert.That(config.Entrypoint, Is.EqualTo(new[] { "/e" }));
            Assert.That(config.Cmd, Is.EqualTo(new[] { "c" }));
            Assert.That(config.Env, Is.EqualTo(new[] { "A=1" }));
            Assert.That(config.WorkingDir, Is.EqualTo("/w"));
            Assert.That(config.User, Is.EqualTo("nobody:users"));
            var empty = ImageConfig.Parse("{}"u8);
            Assert.That(empty.Entrypoint.Concat(empty.Cmd).Concat(empty.Env), Is.Empty);
            Assert.That(empty.User + empty.WorkingDir, Is.Empty);
            Assert.Throws<FormatException>(() => ImageConfig.Parse("nope"u8));
        });
    }
}
