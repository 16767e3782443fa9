using System.Text;
using Containerd.Shim.Process;

namespace Containerd.UnitTests.Shim.Process;

public sealed class ExecSpecTests
{
    private const string NeedsArgs = "the process spec needs a non-empty \"args\" array";

    private static ExecSpec? Parse(string json, out string? problem) =>
        ExecSpec.TryParse(Encoding.UTF8.GetBytes(json), out problem);

    private static ExecSpec ParseValid(string json)
    {
        var spec = Parse(json, out var problem);
        Assert.That(problem, Is.Null);
        Assert.That(spec, Is.Not.Null);
        return spec!;
    }

    [Test]
    public void A_full_spec_is_read()
    {
        var spec = ParseValid("""
            {
              "terminal": true,
              "user": { "uid": 1000, "gid": 100, "additionalGids": [10, 20] },
              "args": ["/bin/sh", "-c", "echo hi"],
              "env": ["PATH=/bin", "HOME=/root"],
              "cwd": "/work",
              "capabilities": { "bounding": ["CAP_KILL"] },
              "noNewPrivileges": true
            }
            """);

        Assert.That(spec.Args, Is.EqualTo(new[] { "/bin/sh", "-c", "echo hi" }));
        Assert.That(spec.Env, Is.EqualTo(new[] { "PATH=/bin", "HOME=/root" }));
        Assert.That(spec.Cwd, Is.EqualTo("/work"));
        Assert.That(spec.Terminal, Is.True);
        Assert.That(spec.User, Is.Not.Null);
        Assert.That(spec.User!.Uid, Is.EqualTo(1000u));
        Assert.That(spec.User.Gid, Is.EqualTo(100u));
        Assert.That(spec.User.AdditionalGids, Is.EqualTo(new uint[] { 10, 20 }));
    }

    [Test]
    public void Only_args_is_required_and_the_rest_defaults_to_empty()
    {
        var spec = ParseValid("""{"args":["true"]}""");

        Assert.That(spec.Args, Is.EqualTo(new[] { "true" }));
        Assert.That(spec.Env, Is.Empty);
        Assert.That(spec.Cwd, Is.EqualTo(""));
        Assert.That(spec.Terminal, Is.False);
        Assert.That(spec.User, Is.Null);
    }

    [Test]
    public void An_empty_string_argument_is_kept()
    {
        var spec = ParseValid("""{"args":["printf", ""]}""");

        Assert.That(spec.Args, Is.EqualTo(new[] { "printf", "" }));
    }

    [TestCase("""{}""", TestName = "Missing_args_are_rejected")]
    [TestCase("""{"args":[]}""", TestName = "Empty_args_are_rejected")]
    [TestCase("""{"args":null}""", TestName = "Null_args_are_rejected")]
    [TestCase("""{"args":"/bin/sh -c true"}""", TestName = "Args_given_as_one_string_are_rejected")]
    [TestCase("""{"Args":["true"]}""", TestName = "Args_is_matched_case_sensitively_as_in_OCI_JSON")]
    public void A_spec_without_a_non_empty_args_array_is_rejected(string json)
    {
        Assert.That(Parse(json, out var problem), Is.Null);
        Assert.That(problem, Is.EqualTo(NeedsArgs));
    }

    [TestCase("""{"args":["sh", 1]}""")]
    [TestCase("""{"args":["sh", null]}""")]
    [TestCase("""{"args":[["sh"]]}""")]
    [TestCase("""{"args":[true]}""")]
    public void Args_holding_anything_but_strings_are_rejected(string json)
    {
        Assert.That(Parse(json, out var problem), Is.Null);
        Assert.That(problem, Is.EqualTo("the process spec's \"args\" must hold only strings"));
    }

    [TestCase("""{"args":["sh"],"env":["A=1", 2]}""")]
    [TestCase("""{"args":["sh"],"env":[null]}""")]
    public void Env_holding_anything_but_strings_is_rejected(string json)
    {
        Assert.That(Parse(json, out var problem), Is.Null);
        Assert.That(problem, Is.EqualTo("the process spec's \"env\" must hold only strings"));
    }

    [TestCase("""[]""")]
    [TestCase("""["sh"]""")]
    [TestCase("""null""")]
    [TestCase("\"args\"")]
    [TestCase("""42""")]
    public void A_spec_that_is_not_a_json_object_is_rejected(string json)
    {
        Assert.That(Parse(json, out var problem), Is.Null);
        Assert.That(problem, Is.EqualTo("the process spec is not a JSON object"));
    }

    [TestCase("", TestName = "Empty_input_is_not_valid_JSON")]
    [TestCase("{", TestName = "A_truncated_object_is_not_valid_JSON")]
    [TestCase("""{"args":["sh"]""", TestName = "A_missing_closing_brace_is_not_valid_JSON")]
    [TestCase("""{args:["sh"]}""", TestName = "Unquoted_names_are_not_valid_JSON")]
    [TestCase("""{"args":["sh"]} trailing""", TestName = "Trailing_text_is_not_valid_JSON")]
    public void Bytes_that_are_not_json_are_rejected_with_the_parsers_reason(string json)
    {
        Assert.That(Parse(json, out var problem), Is.Null);
        Assert.That(problem, Does.StartWith("the process spec is not valid JSON: "));
        Assert.That(problem!.Length, Is.GreaterThan("the process spec is not valid JSON: ".Length), "the parser's reason follows");
    }

    [TestCase("""{"args":["sh"],"terminal":false}""", false)]
    [TestCase("""{"args":["sh"],"terminal":true}""", true)]
    [TestCase("""{"args":["sh"],"terminal":"true"}""", false)]
    [TestCase("""{"args":["sh"],"terminal":1}""", false)]
    public void Terminal_is_only_a_json_true(string json, bool terminal)
    {
        Assert.That(ParseValid(json).Terminal, Is.EqualTo(terminal));
    }

    [TestCase("""{"args":["sh"],"cwd":"/"}""", "/")]
    [TestCase("""{"args":["sh"],"cwd":null}""", "")]
    [TestCase("""{"args":["sh"],"cwd":7}""", "")]
    public void Cwd_is_read_when_it_is_a_string(string json, string cwd)
    {
        Assert.That(ParseValid(json).Cwd, Is.EqualTo(cwd));
    }

    [TestCase("""{"args":["sh"],"env":null}""")]
    [TestCase("""{"args":["sh"],"env":"A=1"}""")]
    [TestCase("""{"args":["sh"],"env":[]}""")]
    public void Env_that_is_not_an_array_or_empty_reads_as_no_environment(string json)
    {
        Assert.That(ParseValid(json).Env, Is.Empty);
    }

    [Test]
    public void A_user_without_ids_is_root()
    {
        var user = ParseValid("""{"args":["sh"],"user":{}}""").User;

        Assert.That(user, Is.Not.Null);
        Assert.That(user!.Uid, Is.Zero);
        Assert.That(user.Gid, Is.Zero);
        Assert.That(user.AdditionalGids, Is.Empty);
    }

    [Test]
    public void The_largest_uid_and_gid_are_read()
    {
        var user = ParseValid("""{"args":["sh"],"user":{"uid":4294967295,"gid":4294967294}}""").User!;

        Assert.That(user.Uid, Is.EqualTo(uint.MaxValue));
        Assert.That(user.Gid, Is.EqualTo(uint.MaxValue - 1));
    }

    [Test]
    public void Additional_gids_keep_their_order_and_skip_numbers_that_are_not_gids()
    {
        var user = ParseValid("""{"args":["sh"],"user":{"uid":1,"gid":1,"additionalGids":[3, -5, 6, 1.5, 4294967296, 7]}}""").User!;

        Assert.That(user.AdditionalGids, Is.EqualTo(new uint[] { 3, 6, 7 }));
    }

    [TestCase("""{"args":["sh"],"user":null}""")]
    [TestCase("""{"args":["sh"],"user":"root"}""")]
    [TestCase("""{"args":["sh"],"user":[0]}""")]
    public void A_user_that_is_not_an_object_reads_as_none(string json)
    {
        Assert.That(ParseValid(json).User, Is.Null);
    }

    // A malformed spec must come back as a problem (InvalidArgument to the
    // client), never as an exception out of TryParse: the shim's Guard turns
    // any other exception into Internal, which blames the shim, not the spec.
    [TestCase("""{"args":["sh"],"user":{"uid":"1000"}}""", TestName = "A_uid_given_as_a_string_is_a_problem")]
    [TestCase("""{"args":["sh"],"user":{"gid":null}}""", TestName = "A_null_gid_is_a_problem")]
    [TestCase("""{"args":["sh"],"user":{"uid":-1}}""", TestName = "A_negative_uid_is_a_problem_not_root")]
    [TestCase("""{"args":["sh"],"user":{"gid":1.5}}""", TestName = "A_fractional_gid_is_a_problem")]
    [TestCase("""{"args":["sh"],"user":{"additionalGids":["4"]}}""", TestName = "An_additional_gid_given_as_a_string_is_a_problem")]
    [TestCase("""{"args":["sh"],"user":{"additionalGids":[null]}}""", TestName = "A_null_additional_gid_is_a_problem")]
    public void A_user_with_ids_that_are_not_numbers_is_a_problem(string json)
    {
        string? problem = null;
        Assert.DoesNotThrow(() => Parse(json, out problem));
        Assert.That(problem, Does.Contain("must be a number").Or.Contain("must hold only numbers"));
    }

    [Test]
    public void Invalid_utf8_in_a_string_is_a_problem_not_an_exception()
    {
        byte[] json = [.. "{\"args\":[\""u8, 0xff, 0xfe, .. "\"]}"u8];

        string? problem = null;
        Assert.DoesNotThrow(() => ExecSpec.TryParse(json, out problem));
        Assert.That(problem, Is.Not.Null);
    }
}
