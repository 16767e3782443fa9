using System.Globalization;
using Containerd.Daemon.Metadata;
using Microsoft.Data.Sqlite;
using Mount = Containerd.Api.Types.Mount;

namespace Containerd.Daemon.Snapshots;

/// <summary>
/// containerd's overlayfs snapshotter. Layout under the root:
/// <c>metadata.db</c> (sqlite: key, parent key, kind, numeric id) and
/// <c>snapshots/ID/fs</c> (the layer: overlay upperdir or bind source) with
/// <c>snapshots/ID/work</c> (overlay workdir, active snapshots only). Numeric
/// ids keep overlay's lowerdir option short, as containerd does. Crash safety:
/// a snapshot's directories are created inside the transaction that inserts
/// its row, and removed after the transaction that deletes it, so a crash can
/// only leave a directory with no row, which start-up deletes.
/// </summary>
public sealed class OverlaySnapshotter : ISnapshotter
{
    private const int SqliteConstraint = 19;

    private readonly string _root;
    private readonly string _snapshots;
    private readonly string _connectionString;
    private readonly Lock _lock = new();

    public OverlaySnapshotter(string root)
    {
        _root = Path.GetFullPath(root);
        _snapshots = Path.Combine(_root, "snapshots");
        Directory.CreateDirectory(_snapshots);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(_root, "metadata.db"),
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
        }.ToString();
        using (var connection = Open())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = """
                PRAGMA journal_mode = WAL;
                CREATE TABLE IF NOT EXISTS snapshots (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    key TEXT NOT NULL UNIQUE,
                    parent TEXT NULL,
                    kind INTEGER NOT NULL,
                    created TEXT NOT NULL);
                """;
            command.ExecuteNonQuery();
        }

        RemoveOrphanDirectories();
    }

    /// <summary>The snapshotter's root directory.</summary>
    public string Root => _root;

    /// <inheritdoc/>
    public Task<IReadOnlyList<Mount>> PrepareAsync(string key, string? parent, CancellationToken cancellationToken) =>
        Task.FromResult(Create(key, parent, SnapshotKind.Active));

    /// <inheritdoc/>
    public Task<IReadOnlyList<Mount>> ViewAsync(string key, string? parent, CancellationToken cancellationToken) =>
        Task.FromResult(Create(key, parent, SnapshotKind.View));

    /// <inheritdoc/>
    public Task CommitAsync(string name, string key, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        lock (_lock)
        {
            var row = Find(key) ?? throw new SnapshotNotFoundException($"snapshot {key}: not found");
            if (row.Kind != SnapshotKind.Active)
                throw new SnapshotPreconditionException($"snapshot {key}: is {row.Kind}, only an active snapshot can be committed");
            using var connection = Open();
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE snapshots SET key = $name, kind = $kind WHERE id = $id";
            command.Parameters.AddWithValue("$name", name);
            command.Parameters.AddWithValue("$kind", (int)SnapshotKind.Committed);
            command.Parameters.AddWithValue("$id", row.Id);
            try
            {
                command.ExecuteNonQuery();
            }
            catch (SqliteException e) when (e.SqliteErrorCode == SqliteConstraint)
            {
                throw new SnapshotExistsException($"snapshot {name}: already exists");
            }
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task RemoveAsync(string key, CancellationToken cancellationToken)
    {
        long id;
        lock (_lock)
        {
            var row = Find(key) ?? throw new SnapshotNotFoundException($"snapshot {key}: not found");
            using var connection = Open();
            using var transaction = connection.BeginTransaction();
            using (var children = connection.CreateCommand())
            {
                children.Transaction = transaction;
                children.CommandText = "SELECT key FROM snapshots WHERE parent = $key ORDER BY key LIMIT 1";
                children.Parameters.AddWithValue("$key", key);
                if (children.ExecuteScalar() is string child)
                    throw new SnapshotPreconditionException($"snapshot {key}: has children (e.g. {child}); remove them first");
            }

            using (var delete = connection.CreateCommand())
            {
                delete.Transaction = transaction;
                delete.CommandText = "DELETE FROM snapshots WHERE id = $id";
                delete.Parameters.AddWithValue("$id", row.Id);
                delete.ExecuteNonQuery();
            }

            transaction.Commit();
            id = row.Id;
        }

        // After the row is gone: a crash here leaves an orphan directory that start-up removes.
        DeleteDirectory(Path.Combine(_snapshots, id.ToString(CultureInfo.InvariantCulture)));
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public IReadOnlyList<Mount> Mounts(string key)
    {
        lock (_lock)
        {
            var row = Find(key) ?? throw new SnapshotNotFoundException($"snapshot {key}: not found");
            if (row.Kind == SnapshotKind.Committed)
                throw new SnapshotPreconditionException($"snapshot {key}: is committed; mount a view or an active snapshot of it");
            return MountsOf(row);
        }
    }

    /// <inheritdoc/>
    public SnapshotInfo? Stat(string key)
    {
        lock (_lock)
            return Find(key)?.Info;
    }

    /// <inheritdoc/>
    public IReadOnlyList<SnapshotInfo> List()
    {
        lock (_lock)
        {
            using var connection = Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT id, key, parent, kind, created FROM snapshots ORDER BY key";
            using var reader = command.ExecuteReader();
            var list = new List<SnapshotInfo>();
            while (reader.Read())
                list.Add(Read(reader).Info);
            return list;
        }
    }

    /// <inheritdoc/>
    public Task<long> UsageAsync(string key, CancellationToken cancellationToken)
    {
        string fs = UpperOf(key);
        return Task.Run(() => Size(new DirectoryInfo(fs), cancellationToken), cancellationToken);
    }

    /// <inheritdoc/>
    public string UpperDirectory(string key)
    {
        lock (_lock)
        {
            var row = Find(key) ?? throw new SnapshotNotFoundException($"snapshot {key}: not found");
            if (row.Kind != SnapshotKind.Active)
                throw new SnapshotPreconditionException($"snapshot {key}: is {row.Kind}, not active");
            return FsOf(row.Id);
        }
    }

    private string UpperOf(string key)
    {
        lock (_lock)
            return FsOf((Find(key) ?? throw new SnapshotNotFoundException($"snapshot {key}: not found")).Id);
    }

    private IReadOnlyList<Mount> Create(string key, string? parent, SnapshotKind kind)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        lock (_lock)
        {
            if (parent is not null)
            {
                var parentRow = Find(parent) ?? throw new SnapshotNotFoundException($"parent snapshot {parent}: not found");
                if (parentRow.Kind != SnapshotKind.Committed)
                    throw new SnapshotPreconditionException($"parent snapshot {parent}: is {parentRow.Kind}, only a committed snapshot can be a parent");
            }

            using var connection = Open();
            using var transaction = connection.BeginTransaction();
            using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO snapshots (key, parent, kind, created) VALUES ($key, $parent, $kind, $created) RETURNING id";
            insert.Parameters.AddWithValue("$key", key);
            insert.Parameters.AddWithValue("$parent", (object?)parent ?? DBNull.Value);
            insert.Parameters.AddWithValue("$kind", (int)kind);
            var created = DateTime.UtcNow;
            insert.Parameters.AddWithValue("$created", created.ToString("O", CultureInfo.InvariantCulture));
            long id;
            try
            {
                id = (long)insert.ExecuteScalar()!;
            }
            catch (SqliteException e) when (e.SqliteErrorCode == SqliteConstraint)
            {
                throw new SnapshotExistsException($"snapshot {key}: already exists");
            }

            string directory = Path.Combine(_snapshots, id.ToString(CultureInfo.InvariantCulture));
            try
            {
                // A leftover of a crashed transaction could hold this id: start clean.
                DeleteDirectory(directory);
                Directory.CreateDirectory(Path.Combine(directory, "fs"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                    | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
                if (kind == SnapshotKind.Active)
                    Directory.CreateDirectory(Path.Combine(directory, "work"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                transaction.Commit();
            }
            catch
            {
                DeleteDirectory(directory);
                throw;
            }

            return MountsOf(new Row(id, key, parent, kind, created));
        }
    }

    /// <summary>containerd's overlay mounts: a bind of the only layer, else overlay with the parent chain as lowerdirs (top first).</summary>
    private List<Mount> MountsOf(Row row)
    {
        var lowers = new List<string>();
        for (string? parent = row.Parent; parent is not null;)
        {
            var parentRow = Find(parent) ?? throw new SnapshotNotFoundException($"snapshot {row.Key}: parent {parent} is missing");
            lowers.Add(FsOf(parentRow.Id));
            parent = parentRow.Parent;
        }

        if (row.Kind == SnapshotKind.Active)
        {
            if (lowers.Count == 0)
                return [Bind(FsOf(row.Id), "rw")];
            var overlay = new Mount { Type = "overlay", Source = "overlay" };
            overlay.Options.Add($"workdir={Path.Combine(_snapshots, row.Id.ToString(CultureInfo.InvariantCulture), "work")}");
            overlay.Options.Add($"upperdir={FsOf(row.Id)}");
            overlay.Options.Add($"lowerdir={string.Join(':', lowers)}");
            return [overlay];
        }

        // A view: read-only, its own (empty) directory unused once it has parents.
        if (lowers.Count == 0)
            return [Bind(FsOf(row.Id), "ro")];
        if (lowers.Count == 1)
            return [Bind(lowers[0], "ro")];
        var view = new Mount { Type = "overlay", Source = "overlay" };
        view.Options.Add($"lowerdir={string.Join(':', lowers)}");
        return [view];
    }

    private static Mount Bind(string source, string access)
    {
        var mount = new Mount { Type = "bind", Source = source };
        mount.Options.Add(access);
        mount.Options.Add("rbind");
        return mount;
    }

    private string FsOf(long id) => Path.Combine(_snapshots, id.ToString(CultureInfo.InvariantCulture), "fs");

    private Row? Find(string key)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, key, parent, kind, created FROM snapshots WHERE key = $key";
        command.Parameters.AddWithValue("$key", key);
        using var reader = command.ExecuteReader();
        return reader.Read() ? Read(reader) : null;
    }

    private static Row Read(SqliteDataReader reader) => new(
        reader.GetInt64(0),
        reader.GetString(1),
        reader.IsDBNull(2) ? null : reader.GetString(2),
        (SnapshotKind)reader.GetInt32(3),
        DateTime.Parse(reader.GetString(4), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind));

    private SqliteConnection Open() => DurableSqlite.Open(_connectionString);

    /// <summary>Deletes snapshot directories without a row: what a crash between a transaction and its directory work leaves.</summary>
    private void RemoveOrphanDirectories()
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        using (var connection = Open())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT id FROM snapshots";
            using var reader = command.ExecuteReader();
            while (reader.Read())
                ids.Add(reader.GetInt64(0).ToString(CultureInfo.InvariantCulture));
        }

        foreach (string directory in Directory.EnumerateDirectories(_snapshots))
        {
            if (!ids.Contains(Path.GetFileName(directory)))
                DeleteDirectory(directory);
        }
    }

    private static void DeleteDirectory(string directory)
    {
        if (Directory.Exists(directory))
            Directory.Delete(directory, recursive: true);
    }

    /// <summary>Bytes of regular files below <paramref name="directory"/>; symlinks are counted, never followed.</summary>
    private static long Size(DirectoryInfo directory, CancellationToken cancellationToken)
    {
        long total = 0;
        foreach (var entry in directory.EnumerateFileSystemInfos())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (entry.LinkTarget is not null)
                continue;
            if (entry is DirectoryInfo child)
                total += Size(child, cancellationToken);
            else if (entry is FileInfo file)
                total += file.Length;
        }

        return total;
    }

    private sealed record Row(long Id, string Key, string? Parent, SnapshotKind Kind, DateTime Created)
    {
        public SnapshotInfo Info => new(Key, Parent, Kind, Created);
    }
}
