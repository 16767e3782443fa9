using System.Text;
using Containerd.Shim.Io;
using Microsoft.Extensions.Logging.Abstractions;

namespace Containerd.UnitTests.Shim.Io;

/// <summary>
/// Framing into CRI log records as containerd 1.6's CRI logger frames them
/// (pkg/cri/io/logger.go), written through a real <see cref="CriLogWriter"/>.
/// </summary>
public sealed class CriLogStreamTests
{
    private const int Max = CriLogStream.DefaultMaxLineSize;

    private string _dir = "";
    private string _path = "";

    [SetUp]
    public void MakeDirectory()
    {
        _dir = Directory.CreateTempSubdirectory("ctd-crilog-test-").FullName;
        _path = Path.Combine(_dir, "0.log");
    }

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void Short_lines_are_full_records_and_chunk_boundaries_do_not_matter()
    {
        var records = Frame(["hel", "lo\nwor", "ld\n", "\n", "x\ny\n"]);
        Assert.That(records, Is.EqualTo(new[] { F("hello"), F("world"), F(""), F("x"), F("y") }));
    }

    [Test]
    public void An_empty_line_is_a_full_record_with_empty_text()
    {
        Assert.That(Frame(["\n\n"]), Is.EqualTo(new[] { F(""), F("") }));
        Assert.That(File.ReadAllText(_path), Does.EndWith(" stdout F \n"));
    }

    [Test]
    public void A_line_of_exactly_the_maximum_is_one_full_record()
    {
        var line = Line(Max, 'a');
        Assert.That(Frame([line + "\n"]), Is.EqualTo(new[] { F(line) }));
    }

    [Test]
    public void A_line_one_byte_over_the_maximum_is_a_partial_record_then_a_full_one()
    {
        var line = Line(Max + 1, 'b');
        Assert.That(Frame([line + "\n"]), Is.EqualTo(new[] { P(line[..Max]), F(line[Max..]) }));
    }

    [Test]
    public void Three_times_the_maximum_is_two_partial_records_and_a_full_one_of_the_maximum()
    {
        var line = Line(3 * Max, 'c');
        // In chunks that straddle the pieces, as reads from a pipe do.
        var chunks = Enumerable.Range(0, (line.Length + 999) / 1000).Select(i => line.Substring(i * 1000, Math.Min(1000, line.Length - i * 1000))).ToList();
        chunks.Add("\n");
        Assert.That(Frame(chunks), Is.EqualTo(new[] { P(line[..Max]), P(line[Max..(2 * Max)]), F(line[(2 * Max)..]) }));
    }

    [Test]
    public void A_partial_line_at_the_end_is_written_as_a_partial_record()
    {
        Assert.That(Frame(["done\nno newline"]), Is.EqualTo(new[] { F("done"), P("no newline") }));
    }

    [Test]
    public void A_long_line_at_the_end_is_all_partial_records()
    {
        var line = Line(2 * Max + 5, 'd');
        Assert.That(Frame([line]), Is.EqualTo(new[] { P(line[..Max]), P(line[Max..(2 * Max)]), P(line[(2 * Max)..]) }));
    }

    [Test]
    public void Nothing_is_written_for_no_output()
    {
        Assert.That(Frame([]), Is.Empty);
    }

    [Test]
    public void A_CRLF_ending_is_the_newline_and_any_other_carriage_return_is_text()
    {
        // As containerd's readLine: "\r\n" ends a line (a terminal's output), a lone '\r' is data.
        Assert.That(Frame(["a\r\nb\rc\r\n", "d\r", "\ne\r", "x\n", "\r\r\n", "f\r"]),
            Is.EqualTo(new[] { F("a"), F("b\rc"), F("d"), F("e\rx"), F("\r"), P("f\r") }));
    }

    [Test]
    public void A_CRLF_after_a_line_of_exactly_the_maximum_split_across_reads_is_still_one_full_record()
    {
        var line = Line(Max, 'e');
        Assert.That(Frame([line + "\r", "\n"]), Is.EqualTo(new[] { F(line) }));
        File.Delete(_path);
        Assert.That(Frame([line, "\r", "\n"]), Is.EqualTo(new[] { F(line) }));
    }

    [Test]
    public void Stdout_and_stderr_of_two_threads_share_one_file_and_every_record_stays_whole()
    {
        const int lines = 2000;
        using (var writer = CriLogWriter.Open(_path, NullLogger.Instance))
        {
            var threads = new[] { "stdout", "stderr" }.Select(name => new Thread(() =>
            {
                var stream = new CriLogStream(name, writer);
                // Lines of varied length, fed in odd-sized chunks, some over the maximum.
                var text = new StringBuilder();
                for (var i = 0; i < lines; i++)
                    text.Append(name).Append(' ').Append(i).Append(' ').Append('x', i % 7 == 0 ? Max + 100 : i % 300).Append('\n');
                var bytes = Encoding.ASCII.GetBytes(text.ToString());
                for (var offset = 0; offset < bytes.Length; offset += 4093)
                    stream.Append(bytes.AsSpan(offset, Math.Min(4093, bytes.Length - offset)));
                stream.Complete();
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
        }

        var records = ReadRecords();
        foreach (var name in new[] { "stdout", "stderr" })
        {
            var mine = records.Where(r => r.Stream == name).ToList();
            var joined = new List<string>();
            var current = new StringBuilder();
            foreach (var record in mine)
            {
                current.Append(record.Text);
                if (record.Tag == "F")
                {
                    joined.Add(current.ToString());
                    current.Clear();
                }
            }
            Assert.That(current.Length, Is.Zero);
            Assert.That(joined, Has.Count.EqualTo(lines));
            for (var i = 0; i < lines; i++)
                Assert.That(joined[i], Is.EqualTo($"{name} {i} " + new string('x', i % 7 == 0 ? Max + 100 : i % 300)), $"{name} line {i}");
        }
    }

    private List<(string Stream, string Tag, string Text)> Frame(IEnumerable<string> chunks)
    {
        using (var writer = CriLogWriter.Open(_path, NullLogger.Instance))
        {
            var stream = new CriLogStream("stdout", writer);
            foreach (var chunk in chunks)
                stream.Append(Encoding.ASCII.GetBytes(chunk));
            stream.Complete();
        }
        return ReadRecords();
    }

    /// <summary>Every record of the file, checked to be <c>time stream tag text</c>.</summary>
    private List<(string Stream, string Tag, string Text)> ReadRecords()
    {
        if (!File.Exists(_path))
            return [];
        var content = Encoding.ASCII.GetString(File.ReadAllBytes(_path));
        Assert.That(content.Length == 0 || content.EndsWith('\n'), "every record ends with a newline");
        var result = new List<(string, string, string)>();
        foreach (var record in content.Split('\n')[..^1])
        {
            var parts = record.Split(' ', 4);
            Assert.That(parts, Has.Length.EqualTo(4), record);
            Assert.That(parts[0], Does.Match(CriLogTimeTests.GoRfc3339Nano()));
            Assert.That(parts[1], Is.AnyOf("stdout", "stderr"));
            Assert.That(parts[2], Is.AnyOf("F", "P"));
            Assert.That(parts[3].Length, Is.LessThanOrEqualTo(Max));
            result.Add((parts[1], parts[2], parts[3]));
        }
        return result;
    }

    private static (string, string, string) F(string text) => ("stdout", "F", text);

    private static (string, string, string) P(string text) => ("stdout", "P", text);

    private static string Line(int length, char c) =>
        string.Create(length, c, (span, first) =>
        {
            // Not all one letter, so a misplaced cut shows.
            for (var i = 0; i < span.Length; i++)
                span[i] = (char)(first + i % 20);
        });
}
