using System.Text;
using System.Text.Json;
using Containerd.Shim.Runc;

namespace Containerd.UnitTests.Shim.Runc;

public sealed class RuncLogTests
{
    [Test]
    public void The_last_error_line_is_runcs_words()
    {
        var log = """
            {"level":"info","msg":"starting","time":"t"}
            {"level":"error","msg":"first problem","time":"t"}
            {"level":"warning","msg":"meh","time":"t"}
            {"level":"error","msg":"container \"c1\" does not exist","time":"t"}
            """;
        Assert.That(RuncLog.LastError(Encoding.UTF8.GetBytes(log)), Is.EqualTo("container \"c1\" does not exist"));
    }

    [Test]
    public void Fatal_counts_and_torn_or_foreign_lines_are_skipped()
    {
        var log = "{\"level\":\"fatal\",\"msg\":\"runc died\"}\nnot json at all\n{\"level\":\"error\",\"msg\":";
        Assert.That(RuncLog.LastError(Encoding.UTF8.GetBytes(log)), Is.EqualTo("runc died"));
    }

    [TestCase("")]
    [TestCase("{\"level\":\"info\",\"msg\":\"fine\"}\n")]
    [TestCase("{\"level\":\"error\",\"msg\":\"  \"}\n")]
    public void No_error_line_means_no_words(string log) =>
        Assert.That(RuncLog.LastError(Encoding.UTF8.GetBytes(log)), Is.Null);

    [Test]
    public void Ps_prints_a_json_array_of_pids() =>
        Assert.That(RuncLog.ParsePids("[1,22,333]"u8), Is.EqualTo(new[] { 1, 22, 333 }));

    [TestCase("null")]
    [TestCase("[]")]
    public void Ps_of_an_empty_container_has_no_pids(string json) =>
        Assert.That(RuncLog.ParsePids(Encoding.UTF8.GetBytes(json)), Is.Empty);

    [Test]
    public void Ps_printing_something_else_is_an_error() =>
        Assert.Throws<JsonException>(() => RuncLog.ParsePids("{\"pids\":[1]}"u8));

    [Test]
    public void State_status_is_read_from_runc_state() =>
        Assert.That(RuncLog.ParseStateStatus("""{"ociVersion":"1.0.2","id":"c1","pid":4242,"status":"running","bundle":"/b"}"""u8),
            Is.EqualTo("running"));

    [Test]
    public void State_without_status_has_none() =>
        Assert.That(RuncLog.ParseStateStatus("""{"id":"c1","annotations":{"status":"x"}}"""u8), Is.Null);
}
