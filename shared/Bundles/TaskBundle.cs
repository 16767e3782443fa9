using System.Globalization;
using System.Runtime.Versioning;
using System.Text;

namespace Containerd.Shared.Bundles;

/// <summary>
/// One task's bundle directory: the on-disk contract between the daemon and
/// the shim, and everything a later daemon needs to find, re-attach or clean
/// up the task. Every file name lives here and nowhere else.
/// <para>
/// Who writes what: the daemon writes <see cref="ConfigFile"/> and
/// <see cref="RuntimeFile"/> before it starts the shim, and
/// <see cref="EventSequenceFile"/> as it publishes events and
/// <see cref="TombstoneFile"/> when the shim died; the shim writes
/// <see cref="ShimPidFile"/> (its own pid, first thing), its log, runc's log
/// and, through runc, <see cref="InitPidFile"/>.
/// </para>
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class TaskBundle
{
    /// <summary>sun_path holds 108 bytes including the terminating NUL.</summary>
    public const int MaxSocketPathBytes = 107;

    public TaskBundle(string directory) =>
        Directory = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));

    public string Directory { get; }

    /// <summary>The OCI runtime spec runc reads.</summary>
    public string ConfigFile => File("config.json");

    /// <summary>Where the task's rootfs mounts are stacked (the spec's root.path is relative to the bundle).</summary>
    public string RootfsDirectory => File("rootfs");

    /// <summary>The shim's socket when its path fits a unix socket address (see <see cref="FitsSocketPath"/>).</summary>
    public string DefaultSocket => File("shim.sock");

    /// <summary>The shim's pid, written by the shim itself before anything else.</summary>
    public string ShimPidFile => File("shim.pid");

    /// <summary>
    /// The shim's logfmt log, rotated by the shim to shim.log.1 (one generation)
    /// past its cap; the daemon follows it into its own log while the task lives.
    /// </summary>
    public string ShimLogFile => File("shim.log");

    /// <summary>The OCI runtime binary the task was created with, so a later daemon (and shim delete) uses the same.</summary>
    public string RuntimeFile => File("runtime");

    /// <summary>The last event sequence the daemon published; a restarted daemon resumes after it.</summary>
    public string EventSequenceFile => File("events.seq");

    /// <summary>
    /// The record of a task whose shim died (the daemon's, written when it
    /// buries the task): kept until Delete, so a restarted daemon still knows
    /// how the task ended.
    /// </summary>
    public string TombstoneFile => File("tombstone.json");

    /// <summary>The init's pid as runc wrote it (--pid-file); it outlives a killed shim.</summary>
    public string InitPidFile => File("init.pid");

    /// <summary>runc's --log, truncated before every runc call.</summary>
    public string RuncLogFile => File("runc-log.json");

    /// <summary>
    /// runc's --log for one call: each call has its own (<paramref name="call"/>
    /// is unique per caller) so independent runc calls run concurrently and each
    /// failure reads only its own words; removed once the call returned.
    /// </summary>
    public string RuncCallLogFile(long call) => File(RuncCallLogName(call));

    /// <summary>The name of <see cref="RuncCallLogFile"/> within the bundle.</summary>
    public static string RuncCallLogName(long call) =>
        "runc-log." + call.ToString(CultureInfo.InvariantCulture) + ".json";

    /// <summary>The process spec of an exec, for runc exec --process; removed once runc returned.</summary>
    public string ExecSpecFile(string execName) => File(execName + ".json");

    public string ExecPidFile(string execName) => File(execName + ".pid");

    /// <summary>
    /// The --console-socket of one terminal runc call (create or exec):
    /// runc sends the pty master over it; removed once runc returned.
    /// <paramref name="call"/> is unique per shim. When this path is too long
    /// for a unix socket, the shim listens in a private temporary directory on
    /// <see cref="ShortConsoleSocketName"/> instead.
    /// </summary>
    public string ConsoleSocketFile(long call) =>
        File("console." + call.ToString(CultureInfo.InvariantCulture) + ".sock");

    /// <summary>
    /// One checkpoint's scratch directory (the daemon's; <paramref name="call"/>
    /// unique per daemon): CRIU's image and work directories, an unpacked
    /// parent image and the tar on its way to the content store. Removed once
    /// the checkpoint returned, whatever the outcome; its name starts with
    /// <see cref="CheckpointPrefix"/>.
    /// </summary>
    public string CheckpointDirectory(long call) => File(CheckpointPrefix + call.ToString(CultureInfo.InvariantCulture));

    /// <summary>How every checkpoint scratch directory's name begins (a leftover is recognised by it).</summary>
    public const string CheckpointPrefix = "checkpoint.";

    /// <summary>CRIU's --image-path within <see cref="CheckpointDirectory"/>.</summary>
    public static string CheckpointImage(string checkpointDirectory) => Path.Combine(checkpointDirectory, "image");

    /// <summary>CRIU's --work-path (its dump.log) within <see cref="CheckpointDirectory"/>.</summary>
    public static string CheckpointWork(string checkpointDirectory) => Path.Combine(checkpointDirectory, "work");

    /// <summary>The unpacked parent checkpoint (--parent-path) within <see cref="CheckpointDirectory"/>.</summary>
    public static string CheckpointParent(string checkpointDirectory) => Path.Combine(checkpointDirectory, "parent");

    /// <summary>The image as a tar, before it is written to the content store, within <see cref="CheckpointDirectory"/>.</summary>
    public static string CheckpointArchive(string checkpointDirectory) => Path.Combine(checkpointDirectory, "image.tar");

    /// <summary>
    /// A Create from a checkpoint: the daemon unpacks the image here, the
    /// shim's Start restores from it (runc restore) and removes it once restored.
    /// </summary>
    public string RestoreImageDirectory => File("restore-image");

    /// <summary>CRIU's --work-path (its restore.log) for a restore; the shim removes it once runc restore returned.</summary>
    public string RestoreWorkDirectory => File("restore-work");

    /// <summary>The console socket's name in a private temporary directory (see <see cref="ConsoleSocketFile"/>).</summary>
    public const string ShortConsoleSocketName = "console.sock";

    public static bool FitsSocketPath(string path) => Encoding.UTF8.GetByteCount(path) <= MaxSocketPathBytes;

    /// <summary>The shim's pid, or 0 when the file is missing or holds no pid.</summary>
    public int ReadShimPid() => PidFile.TryRead(ShimPidFile);

    /// <summary>The init's pid, or 0 when runc has not written it (or the shim removed it at delete).</summary>
    public int ReadInitPid() => PidFile.TryRead(InitPidFile);

    /// <summary>The recorded runtime binary, or null when none was recorded.</summary>
    public string? ReadRuntime()
    {
        var text = ReadText(RuntimeFile);
        return string.IsNullOrEmpty(text) ? null : text;
    }

    public void WriteRuntime(string runtime) => AtomicFile.Write(RuntimeFile, Encoding.UTF8.GetBytes(runtime));

    /// <summary>0 when nothing was recorded.</summary>
    public ulong ReadEventSequence() =>
        ulong.TryParse(ReadText(EventSequenceFile), NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : 0;

    public void WriteEventSequence(ulong sequence) =>
        AtomicFile.Write(EventSequenceFile, Encoding.ASCII.GetBytes(sequence.ToString(CultureInfo.InvariantCulture)));

    private string File(string name) => Path.Combine(Directory, name);

    private static string? ReadText(string path)
    {
        try
        {
            return System.IO.File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
