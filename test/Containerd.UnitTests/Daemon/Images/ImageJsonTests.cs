using System.Text;
using Containerd.Shared.Images;
using Containerd.Shared.Oci;

namespace Containerd.UnitTests.Daemon.Images;

/// <summary>Chain ids, the index → manifest → config walk, and the image config's process.</summary>
public sealed class ImageJsonTests
{
    private static string D(char c) => "sha256:" + new string(c, 64);

    [Test]
    public void Chain_ids_are_the_first_diff_id_then_hashes_of_the_previous_and_the_next()
    {
        // containerd's identity.ChainID: sha256("<parent> <diffid>").
        var a = "sha256:" + new string('a', 64);
        var b = "sha256:" + new string('b', 64);
        var chain = ChainIds.Of([a, b]);
        var expected = "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(a + " " + b)));
        Assert.That(chain, Is.EqualTo(new[] { a, expected }));
        Assert.That(ChainIds.Of([]), Is.Empty);
    }

    [Test]
    public async Task An_index_resolves_to_the_platform_s_manifest_config_and_layers()
    {
        var blobs = new Dictionary<string, string>
        {
            [D('1')] = $$$"""{"manifests":[{"mediaType":"{{{ImageMediaTypes.OciManifest}}}","digest":"{{{D('2')}}}","size":5,"platform":{"os":"linux","architecture":"s390x"}},{"mediaType":"{{{ImageMediaTypes.OciManifest}}}","digest":"{{{D('3')}}}","size":6,"platform":{"os":"linux","architecture":"riscv64"}}]}""",
            [D('3')] = $$$"""{"config":{"mediaType":"{{{ImageMediaTypes.OciConfig}}}","digest":"{{{D('4')}}}","size":7},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{{{D('5')}}}","size":8}]}""",
            [D('4')] = $$$"""{"os":"linux","architecture":"riscv64","rootfs":{"type":"layers","diff_ids":["{{{D('6')}}}"]}}""",
        };
        var resolved = await ImageWalk.ResolveAsync(new BlobRef(ImageMediaTypes.OciIndex, D('1'), 100), ImagePlatform.Parse("linux/riscv64"),
            (digest, _) => Task.FromResult(Encoding.UTF8.GetBytes(blobs[digest])), CancellationToken.None);
        Assert.Multiple(() =>
        {
            Assert.That(resolved.Manifest.Digest, Is.EqualTo(D('3')));
            Assert.That(resolved.Config.Digest, Is.EqualTo(D('4')));
            Assert.That(resolved.Layers.Select(l => l.Digest), Is.EqualTo(new[] { D('5') }));
            Assert.That(resolved.TopChainId, Is.EqualTo(D('6')));
        });

        var missing = Assert.ThrowsAsync<ImageFormatException>(() => ImageWalk.ResolveAsync(
            new BlobRef(ImageMediaTypes.OciIndex, D('1'), 100), ImagePlatform.Parse("linux/mips64"),
            (digest, _) => Task.FromResult(Encoding.UTF8.GetBytes(blobs[digest])), CancellationToken.None));
        Assert.That(missing!.Message, Does.Contain("no manifest for linux/mips64"));
    }

    [Test]
    public void The_process_is_entrypoint_and_cmd_and_command_words_replace_only_cmd()
    {
        var config = """{"config":{"Entrypoint":["/bin/tini","--"],"Cmd":["sh"],"Env":["PATH=/opt/bin","LANG=C"],"WorkingDir":"/srv","User":"1000:100"}}"""u8;
        var image = ImageProcess.From(config, [], [], null, null);
        Assert.Multiple(() =>
        {
            Assert.That(image.Args, Is.EqualTo(new[] { "/bin/tini", "--", "sh" }));
            Assert.That(image.Env, Is.EqualTo(new[] { "PATH=/opt/bin", "LANG=C" }));
            Assert.That(image.Cwd, Is.EqualTo("/srv"));
            Assert.That(image.User, Is.EqualTo("1000:100"));
        });

        var overridden = ImageProcess.From(config, ["echo", "hi"], ["LANG=fr_FR", "X=1"], "/tmp", "0");
        Assert.Multiple(() =>
        {
            Assert.That(overridden.Args, Is.EqualTo(new[] { "/bin/tini", "--", "echo", "hi" }));
            Assert.That(overridden.Env, Is.EqualTo(new[] { "PATH=/opt/bin", "LANG=fr_FR", "X=1" }));
            Assert.That(overridden.Cwd, Is.EqualTo("/tmp"));
            Assert.That(overridden.User, Is.EqualTo("0"), "--user wins over the image's");
        });
    }

    [Test]
    public void An_image_without_path_gets_the_default_and_without_workdir_the_root()
    {
        var image = ImageProcess.From("""{"config":{"Cmd":["sh"]}}"""u8, [], ["A=b"], null, null);
        Assert.That(image.Env, Is.EqualTo(new[] { ProcessSpec.DefaultPath, "A=b" }));
        Assert.That(image.Cwd, Is.EqualTo("/"));
    }

    [Test]
    public void No_command_is_refused_with_what_to_do_and_a_user_name_is_kept_for_lookup()
    {
        var none = Assert.Throws<FormatException>(() => ImageProcess.From("""{"config":{}}"""u8, [], [], null, null));
        Assert.That(none!.Message, Does.Contain("give a command"));
        Assert.That(ImageProcess.From("""{"config":{"Cmd":["sh"],"User":"nobody"}}"""u8, [], [], null, null).User, Is.EqualTo("nobody"));
        Assert.That(ImageProcess.From("""{"config":{"Cmd":["sh"]}}"""u8, [], [], null, null).User, Is.Empty);
    }
}
