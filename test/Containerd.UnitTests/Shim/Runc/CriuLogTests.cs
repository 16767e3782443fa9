using Containerd.Shim.Runc;

namespace Containerd.UnitTests.Shim.Runc;

public sealed class CriuLogTests
{
    // What CRIU 3.17 wrote here (dump.log), abridged.
    private const string DumpLog = """
        (00.000194) Version: 3.17.1 (gitid 0)
        (00.001383) Error (criu/util.c:642): exited, status=1
        (00.001946) Error (criu/util.c:642): exited, status=1
        (00.001985) Pagemap is fully functional
        (00.023506) Error (criu/vdso.c:381): vdso: Unexpected rt vDSO area bounds
        (00.023508) Error (criu/vdso.c:613): vdso: Failed to fill self vdso symtable
        (00.023509) Error (criu/kerndat.c:1615): kerndat_vdso_fill_symtable failed when initializing kerndat.
        (00.023533) Adjust mmap_min_addr 0x1000 -> 0x10000
        """;

    [Test]
    public void The_last_error_lines_are_quoted_without_timestamps()
    {
        Assert.That(CriuLog.LastErrors(DumpLog, 3), Is.EqualTo(new[]
        {
            "Error (criu/vdso.c:381): vdso: Unexpected rt vDSO area bounds",
            "Error (criu/vdso.c:613): vdso: Failed to fill self vdso symtable",
            "Error (criu/kerndat.c:1615): kerndat_vdso_fill_symtable failed when initializing kerndat.",
        }));
        Assert.That(CriuLog.LastErrors("(00.1) all fine\n", 3), Is.Empty);
    }

    [Test]
    public void Repeated_lines_count_once()
    {
        Assert.That(CriuLog.LastErrors(DumpLog, 10)[0], Is.EqualTo("Error (criu/util.c:642): exited, status=1"));
        Assert.That(CriuLog.LastErrors(DumpLog, 10), Has.Count.EqualTo(4));
    }

    [Test]
    public void Runcs_words_name_the_log()
    {
        Assert.That(CriuLog.LogFileOf("criu failed: type DUMP errno 0\nlog file: /b/checkpoint.1/work/dump.log"), Is.EqualTo("/b/checkpoint.1/work/dump.log"));
        Assert.That(CriuLog.LogFileOf("container is not running"), Is.Null);
    }

    [Test]
    public void Explain_appends_crius_reason_read_from_the_work_directory()
    {
        var work = Directory.CreateTempSubdirectory("criulog").FullName;
        try
        {
            File.WriteAllText(Path.Combine(work, "dump.log"), DumpLog);
            var failure = new RuncException("checkpoint", $"criu failed: type DUMP errno 0\nlog file: {work}/dump.log", 1);
            var explained = CriuLog.Explain(failure, work);
            Assert.That(explained.Message, Is.EqualTo(
                $"criu failed: type DUMP errno 0 log file: {work}/dump.log: criu: Error (criu/vdso.c:381): vdso: Unexpected rt vDSO area bounds; "
                + "Error (criu/vdso.c:613): vdso: Failed to fill self vdso symtable; "
                + "Error (criu/kerndat.c:1615): kerndat_vdso_fill_symtable failed when initializing kerndat."));
            Assert.That(explained.CriuFailed && explained.IsPrecondition, "a condition of the host or container: FailedPrecondition");

            // runc named no log: the newest one in the work directory.
            Assert.That(CriuLog.Explain(new RuncException("restore", "criu failed: type RESTORE errno 0", 1), work).Message,
                Does.Contain("Failed to fill self vdso symtable"));
            var other = new RuncException("checkpoint", "container does not exist", 1);
            Assert.That(CriuLog.Explain(other, Path.Combine(work, "missing")), Is.SameAs(other));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
