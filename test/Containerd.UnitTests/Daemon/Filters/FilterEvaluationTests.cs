using Containerd.Daemon.Filters;

namespace Containerd.UnitTests.Daemon.Filters;

/// <summary>How selectors, their conjunction and a request's alternatives decide against an object's fields.</summary>
public sealed class FilterEvaluationTests
{
    private static readonly Dictionary<string, string> Labels = new() { ["k"] = "v", ["a.b"] = "dotted", ["empty"] = "" };

    /// <summary>An image-like object: name, target.digest, labels.</summary>
    private static (string, bool) Field(IReadOnlyList<string> path) => path switch
    {
        ["name"] => FieldValues.Scalar("127.0.0.1:5000/busybox:latest"),
        ["target", "digest"] => FieldValues.Scalar("sha256:abc"),
        ["image"] => FieldValues.Scalar(""),
        ["labels", _, ..] => FieldValues.Label(Labels, path.Skip(1)),
        _ => ("", false),
    };

    [TestCase("name", true)]
    [TestCase("image", false, TestName = "An empty scalar is not present")]
    [TestCase("labels.empty", true, TestName = "A label set to empty is present")]
    [TestCase("labels.missing", false)]
    [TestCase("name==127.0.0.1:5000/busybox:latest", true)]
    [TestCase("name==busybox", false)]
    [TestCase("name!=busybox", true)]
    [TestCase("name!=127.0.0.1:5000/busybox:latest", false)]
    [TestCase("labels.missing!=x", true, TestName = "An absent field is unequal to any value")]
    [TestCase("labels.missing==\"\"", false, TestName = "An absent field equals nothing, not even empty")]
    [TestCase("name~=^127", true)]
    [TestCase("name~=busybox", true, TestName = "A pattern matches anywhere")]
    [TestCase("name~=^busybox", false)]
    [TestCase("labels.k==v", true)]
    [TestCase("labels.\"k\"==v", true)]
    [TestCase("labels.\"a.b\"==dotted", true)]
    [TestCase("labels.a.b==dotted", true, TestName = "A dotted label key may be written unquoted")]
    [TestCase("name~=^127,labels.k==v", true)]
    [TestCase("name~=^127,labels.k==w", false, TestName = "Selectors joined by a comma must all match")]
    [TestCase("target.digest==sha256:abc", true)]
    [TestCase("nosuch", false)]
    public void One_filter(string filter, bool matches) =>
        Assert.That(Filter.Parse(filter).Matches(Field), Is.EqualTo(matches));

    [TestCase(new string[0], true, TestName = "No filter matches everything")]
    [TestCase(new[] { "name==x", "labels.k==v" }, true, TestName = "Any of a request's filters may match")]
    [TestCase(new[] { "name==x", "labels.k==w" }, false)]
    [TestCase(new[] { "name==x", "" }, true, TestName = "An empty filter among others matches everything")]
    public void Several_filters(string[] filters, bool matches) =>
        Assert.That(Filter.Parse(filters).Matches(Field), Is.EqualTo(matches));
}
