using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using Containerd.Daemon.Cri.Specs;
using Grpc.Core;
using Runtime.V1;
using static Containerd.UnitTests.Daemon.Cri.Specs.SpecInputs;

namespace Containerd.UnitTests.Daemon.Cri.Specs;

/// <summary>containerd's default seccomp profile and the choice of profile.</summary>
public sealed class SeccompTests
{
    private static List<string> Allowed(JsonObject profile) =>
        [.. profile["syscalls"]!.AsArray()
            .Where(s => (string?)s!["action"] == "SCMP_ACT_ALLOW" && s["args"] is null)
            .SelectMany(s => Strings(s!["names"]))];

    [Test]
    public void The_default_profile_denies_with_eperm_and_allows_the_ordinary_syscalls()
    {
        var profile = DefaultSeccompProfile.Build(Capabilities.Default, Architecture.X64);
        var allowed = Allowed(profile);
        Assert.Multiple(() =>
        {
            Assert.That((string?)profile["defaultAction"], Is.EqualTo("SCMP_ACT_ERRNO"));
            Assert.That((int?)profile["defaultErrnoRet"], Is.EqualTo(1));
            Assert.That(Strings(profile["architectures"]), Is.EqualTo(new[] { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32" }));
            Assert.That(allowed, Does.Contain("read").And.Contain("execve").And.Contain("arch_prctl").And.Contain("chroot"));
            Assert.That(allowed.Count, Is.InRange(330, 400), "containerd 1.6.39's list is ~360 names");
            Assert.That(allowed, Does.Not.Contain("kexec_load").And.Not.Contain("mount").And.Not.Contain("reboot")
                .And.Not.Contain("init_module").And.Not.Contain("open_by_handle_at"));
        });
    }

    [Test]
    public void Without_sys_admin_clone_may_not_make_namespaces_and_clone3_is_enosys()
    {
        var syscalls = DefaultSeccompProfile.Build(Capabilities.Default, Architecture.X64)["syscalls"]!.AsArray();
        var clone = syscalls.Single(s => Strings(s!["names"]).SequenceEqual(new[] { "clone" }))!;
        var clone3 = syscalls.Single(s => Strings(s!["names"]).SequenceEqual(new[] { "clone3" }))!;
        Assert.Multiple(() =>
        {
            Assert.That((long?)clone["args"]![0]!["value"], Is.EqualTo(0x7E020000));
            Assert.That((string?)clone["args"]![0]!["op"], Is.EqualTo("SCMP_CMP_MASKED_EQ"));
            Assert.That((int?)clone["args"]![0]!["valueTwo"], Is.EqualTo(0));
            Assert.That((string?)clone3["action"], Is.EqualTo("SCMP_ACT_ERRNO"));
            Assert.That((int?)clone3["errnoRet"], Is.EqualTo(38));
        });
    }

    [TestCase("CAP_SYS_ADMIN", "mount|umount2|unshare|setns|clone|clone3")]
    [TestCase("CAP_SYS_PTRACE", "process_vm_readv|kcmp")]
    [TestCase("CAP_SYS_MODULE", "init_module|finit_module|delete_module")]
    [TestCase("CAP_SYS_TIME", "settimeofday|clock_settime")]
    [TestCase("CAP_SYS_BOOT", "reboot")]
    [TestCase("CAP_DAC_READ_SEARCH", "open_by_handle_at")]
    [TestCase("CAP_BPF", "bpf")]
    public void A_capability_in_the_bounding_set_allows_its_syscalls(string capability, string names)
    {
        var profile = DefaultSeccompProfile.Build([.. Capabilities.Default, capability], Architecture.X64);
        Assert.That(Allowed(profile), Is.SupersetOf(names.Split('|')));
    }

    [Test]
    public void Sys_admin_drops_the_clone_restrictions()
    {
        var syscalls = DefaultSeccompProfile.Build([.. Capabilities.Default, "CAP_SYS_ADMIN"], Architecture.X64)["syscalls"]!.AsArray();
        Assert.That(syscalls.Where(s => s!["args"] is not null || (string?)s["action"] != "SCMP_ACT_ALLOW")
            .SelectMany(s => Strings(s!["names"])), Is.EqualTo(Enumerable.Repeat("personality", 5)));
    }

    [Test]
    public void Arm64_lists_its_architectures_and_syscalls()
    {
        var profile = DefaultSeccompProfile.Build(Capabilities.Default, Architecture.Arm64);
        Assert.Multiple(() =>
        {
            Assert.That(Strings(profile["architectures"]), Is.EqualTo(new[] { "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64" }));
            Assert.That(Allowed(profile), Does.Contain("set_tls").And.Not.Contain("arch_prctl"));
        });
    }

    [Test]
    public void The_profile_json_is_compact_enough()
    {
        var json = DefaultSeccompProfile.Build(Capabilities.Default, Architecture.X64).ToJsonString();
        Assert.That(json.Length, Is.InRange(5_000, 20_000));
    }

    private static JsonObject? Resolve(SecurityProfile? profile, string? path = null, bool privileged = false, Func<string, byte[]>? read = null) =>
        SeccompProfiles.Resolve(profile, path, privileged, Capabilities.Default, Architecture.X64, read, "container c1");

    private static SecurityProfile Profile(SecurityProfile.Types.ProfileType type, string reference = "") =>
        new() { ProfileType = type, LocalhostRef = reference };

    [TestCase(null, false)]
    [TestCase("", false)]
    [TestCase("unconfined", false)]
    [TestCase("runtime/default", true)]
    [TestCase("docker/default", true)]
    public void The_deprecated_path_is_honoured_when_the_field_is_absent(string? path, bool confined)
    {
        Assert.That(Resolve(null, path) is not null, Is.EqualTo(confined));
    }

    [Test]
    public void The_field_wins_over_the_path_and_privileged_wins_over_both()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Resolve(Profile(SecurityProfile.Types.ProfileType.Unconfined), "runtime/default"), Is.Null);
            Assert.That(Resolve(Profile(SecurityProfile.Types.ProfileType.RuntimeDefault), "unconfined"), Is.Not.Null);
            Assert.That(Resolve(Profile(SecurityProfile.Types.ProfileType.RuntimeDefault), privileged: true), Is.Null);
        });
    }

    [Test]
    public void Localhost_reads_the_profile_through_the_delegate()
    {
        var read = new List<string>();
        byte[] Read(string path)
        {
            read.Add(path);
            return Encoding.UTF8.GetBytes("""{"defaultAction":"SCMP_ACT_LOG"}""");
        }
        var byField = Resolve(Profile(SecurityProfile.Types.ProfileType.Localhost, "/etc/seccomp/p.json"), read: Read);
        var byPath = Resolve(null, "localhost//etc/seccomp/q.json", read: Read);
        Assert.Multiple(() =>
        {
            Assert.That((string?)byField!["defaultAction"], Is.EqualTo("SCMP_ACT_LOG"));
            Assert.That(byPath, Is.Not.Null);
            Assert.That(read, Is.EqualTo(new[] { "/etc/seccomp/p.json", "/etc/seccomp/q.json" }));
        });
    }

    [Test]
    public void Bad_settings_are_refused_with_the_field_named()
    {
        static byte[] Missing(string path) => throw new FileNotFoundException("gone", path);
        static byte[] Garbage(string path) => "{nope"u8.ToArray();
        var cases = new (Func<JsonObject?> Call, StatusCode Code, string Message)[]
        {
            (() => Resolve(null, "bogus"), StatusCode.InvalidArgument, "seccomp_profile_path \"bogus\""),
            (() => Resolve(Profile(SecurityProfile.Types.ProfileType.RuntimeDefault, "/x")), StatusCode.InvalidArgument, "localhost_ref"),
            (() => Resolve(Profile(SecurityProfile.Types.ProfileType.Localhost, "/x")), StatusCode.InvalidArgument, "not supported"),
            (() => Resolve(Profile(SecurityProfile.Types.ProfileType.Localhost, "rel.json"), read: Missing), StatusCode.InvalidArgument, "absolute"),
            (() => Resolve(Profile(SecurityProfile.Types.ProfileType.Localhost, "/x.json"), read: Missing), StatusCode.NotFound, "/x.json does not exist"),
            (() => Resolve(Profile(SecurityProfile.Types.ProfileType.Localhost, "/x.json"), read: Garbage), StatusCode.InvalidArgument, "not valid JSON"),
        };
        Assert.Multiple(() =>
        {
            foreach (var (call, code, message) in cases)
            {
                var e = Assert.Throws<SpecException>(() => call());
                Assert.That(e!.Code, Is.EqualTo(code), message);
                Assert.That(e.Message, Does.Contain("container c1").And.Contain(message));
            }
        });
    }
}
