using Containerd.Daemon.Filters;

namespace Containerd.UnitTests.Daemon.Filters;

/// <summary>containerd's filter grammar: what parses into which selectors, and how a bad filter is named.</summary>
public sealed class FilterParserTests
{
    private static IEnumerable<TestCaseData> Valid()
    {
        yield return Case("name", ("name", FilterOperator.Present, ""));
        yield return Case("name==docker.io/library/busybox:latest", ("name", FilterOperator.Equal, "docker.io/library/busybox:latest"));
        yield return Case("id!=abc", ("id", FilterOperator.NotEqual, "abc"));
        yield return Case("name~=^127", ("name", FilterOperator.Matches, "^127"));
        yield return Case("labels.foo==bar", ("labels.foo", FilterOperator.Equal, "bar"));
        yield return Case("labels.\"a.b\"==v", ("labels.a.b", FilterOperator.Equal, "v"));
        yield return Case("labels.\"with space\"", ("labels.with space", FilterOperator.Present, ""));
        yield return Case("name==\"a,b c\"", ("name", FilterOperator.Equal, "a,b c"));
        yield return Case("name==\"q\\\"\\t\\x41\\u00e9\\101\\\\\"", ("name", FilterOperator.Equal, "q\"\tAéA\\"));
        yield return Case("name~=/^docker\\.io/", ("name", FilterOperator.Matches, "^docker\\.io"));
        yield return Case("name~=/a\\/b/", ("name", FilterOperator.Matches, "a/b"));
        yield return Case("name~=|a/b|", ("name", FilterOperator.Matches, "a/b"));
        yield return Case(" id == x , image ", ("id", FilterOperator.Equal, "x"), ("image", FilterOperator.Present, ""));
        yield return Case("id==a,labels.k!=v,runtime",
            ("id", FilterOperator.Equal, "a"), ("labels.k", FilterOperator.NotEqual, "v"), ("runtime", FilterOperator.Present, ""));
        yield return Case("target.digest==sha256:0123", ("target.digest", FilterOperator.Equal, "sha256:0123"));
        yield return Case("name==x=y!z", ("name", FilterOperator.Equal, "x=y!z"));
    }

    private static TestCaseData Case(string filter, params (string Path, FilterOperator Op, string Value)[] selectors) =>
        new TestCaseData(filter, selectors) { TestName = $"Parses {{m}}({filter})" };

    [TestCaseSource(nameof(Valid))]
    public void Parses(string filter, (string Path, FilterOperator Op, string Value)[] expected)
    {
        var selectors = Filter.Parse(filter).Selectors.Select(s => (s.PathText, s.Operator, s.Value)).ToArray();
        Assert.That(selectors, Is.EqualTo(expected.Select(e => (e.Path, e.Op, e.Value)).ToArray()));
    }

    [TestCase("", TestName = "Rejects nothing: empty")]
    public void An_empty_filter_has_no_selectors(string filter) =>
        Assert.That(Filter.Parse(filter).Selectors, Is.Empty);

    [TestCase("name==", 6, "expected a value after \"==\"")]
    [TestCase("name==,id", 6, "expected a value")]
    [TestCase("name=~x", 4, "unsupported operator \"=~\"")]
    [TestCase("name===x", 4, "unsupported operator \"===\"")]
    [TestCase("name x", 5, "expected an operator")]
    [TestCase("name==a b", 8, "unexpected 'b'")]
    [TestCase("name==a,", 8, "expected a field name, found the end")]
    [TestCase(",name", 0, "expected a field name or a quoted string, found ','")]
    [TestCase("labels.==v", 7, "expected a field name or a quoted string, found '='")]
    [TestCase("labels.\"k==v", 7, "unterminated quoted string")]
    [TestCase("name==\"a\\qb\"", 8, "invalid escape \\q")]
    [TestCase("name==\"\\x4\"", 7, "escape needs 2 hex digits")]
    [TestCase("name~=[a-", 6, "invalid regular expression \"[a-\"")]
    [TestCase("name~=/a(/", 6, "invalid regular expression \"a(\"")]
    public void Rejects_a_malformed_filter_naming_it_and_where(string filter, int offset, string problem)
    {
        var e = Assert.Throws<FilterSyntaxException>(() => Filter.Parse(filter))!;
        Assert.That(e.Message, Does.StartWith($"filter \"{filter}\": at offset {offset}: "));
        Assert.That(e.Message, Does.Contain(problem));
    }

    [Test]
    public void Each_filter_of_a_request_is_checked()
    {
        var e = Assert.Throws<FilterSyntaxException>(() => Filter.Parse(["name==a", "name!="]))!;
        Assert.That(e.Message, Does.StartWith("filter \"name!=\": at offset 6"));
    }

    [Test]
    public void An_unknown_field_is_named_with_its_filter()
    {
        var filter = Filter.Parse(["name==a", "nmae==b"]);
        var e = Assert.Throws<FilterSyntaxException>(() => filter.RequireKnownFields(p => p is ["name"], "name"))!;
        Assert.That(e.Message, Is.EqualTo("filter \"nmae==b\": unknown field \"nmae\" (use name)"));
    }
}
