using Containerd.Api.Types;
using Containerd.Shared.Bundles;
using Containerd.Shared.Identifiers;
using Google.Protobuf;
using Microsoft.Extensions.Logging;

namespace Containerd.Daemon.Events;

/// <summary>
/// The EXITs of the exchange's backlog on disk (STATE/events/NS.events, one file per
/// namespace), so the events kept for a namespace's first subscriber survive
/// daemon restarts until they are delivered. Each file is a sequence of
/// length-delimited protobuf events: appended as events are kept (a daemon
/// killed mid-append leaves a torn last record, which reading drops), rewritten
/// whole (<see cref="AtomicFile"/>) when events were dropped from the bounded
/// backlog, removed once the events were handed to a subscriber.
/// </summary>
public sealed class EventBacklogStore
{
    public const string Suffix = ".events";

    private const UnixFileMode PrivateDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly ILogger _logger;
    private bool _failing;

    public EventBacklogStore(string directory, ILogger logger)
    {
        Directory = directory;
        _logger = logger;
    }

    public string Directory { get; }

    public string FileOf(string @namespace) => Path.Combine(Directory, @namespace + Suffix);

    public void Append(string @namespace, Event evt) => Try(() =>
    {
        System.IO.Directory.CreateDirectory(Directory, PrivateDirectory);
        using var stream = new FileStream(FileOf(@namespace), new FileStreamOptions
        {
            Mode = FileMode.Append,
            Access = FileAccess.Write,
            UnixCreateMode = PrivateFile,
        });
        // One write call for the record, so it is torn only by a crash, never interleaved.
        stream.Write(Serialize([evt]));
    });

    /// <summary>Replaces the namespace's file with <paramref name="events"/>; none removes it.</summary>
    public void Rewrite(string @namespace, IReadOnlyCollection<Event> events) => Try(() =>
    {
        if (events.Count == 0)
        {
            DeleteIfThere(FileOf(@namespace));
            return;
        }
        System.IO.Directory.CreateDirectory(Directory, PrivateDirectory);
        AtomicFile.Write(FileOf(@namespace), Serialize(events));
    });

    public void Remove(string @namespace) => Try(() => DeleteIfThere(FileOf(@namespace)));

    /// <summary>File.Delete throws when the directory is missing too (nothing was ever kept): that is no failure.</summary>
    private static void DeleteIfThere(string path)
    {
        if (File.Exists(path))
            File.Delete(path);
    }

    /// <summary>Every namespace's kept events, each in the order they were kept.</summary>
    public IReadOnlyList<(string Namespace, IReadOnlyList<Event> Events)> Load()
    {
        var loaded = new List<(string, IReadOnlyList<Event>)>();
        if (!System.IO.Directory.Exists(Directory))
            return loaded;
        foreach (var file in System.IO.Directory.GetFiles(Directory, "*" + Suffix).Order(StringComparer.Ordinal))
        {
            var @namespace = Path.GetFileName(file)[..^Suffix.Length];
            if (!Identifier.IsValid(@namespace))
                continue;
            try
            {
                loaded.Add((@namespace, Parse(File.ReadAllBytes(file))));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _logger.LogError("cannot read kept events {File}: {Error}", file, e.Message);
            }
        }
        return loaded;
    }

    public static byte[] Serialize(IEnumerable<Event> events)
    {
        using var buffer = new MemoryStream();
        foreach (var evt in events)
            evt.WriteDelimitedTo(buffer);
        return buffer.ToArray();
    }

    /// <summary>The whole records, in order; a torn or unreadable tail (a crash mid-append) ends the list.</summary>
    public static IReadOnlyList<Event> Parse(byte[] content)
    {
        var events = new List<Event>();
        using var input = new MemoryStream(content);
        while (input.Position < input.Length)
        {
            try
            {
                events.Add(Event.Parser.ParseDelimitedFrom(input));
            }
            catch (InvalidProtocolBufferException)
            {
                break;
            }
        }
        return events;
    }

    /// <summary>A backlog that cannot be written is still kept in memory: say so once, not for every event.</summary>
    private void Try(Action write)
    {
        try
        {
            write();
            _failing = false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (!_failing)
                _logger.LogError("cannot keep events on disk in {Directory}: {Error}", Directory, e.Message);
            _failing = true;
        }
    }
}
