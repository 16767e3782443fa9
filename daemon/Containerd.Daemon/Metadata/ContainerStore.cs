using Containerd.Api.Containers;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Data.Sqlite;

namespace Containerd.Daemon.Metadata;

/// <summary>
/// Container records in SQLite (ROOT/meta.db), keyed by (namespace, id).
/// The store does no validation and no locking beyond SQLite's own: callers
/// serialise read-modify-write sequences per container.
/// </summary>
public sealed class ContainerStore
{
    private const int SchemaVersion = 1;
    private const int SqliteConstraint = 19;
    private const int SqliteCorrupt = 11;
    private const int SqliteNotADatabase = 26;
    private const string Columns = "id, labels, image, runtime, spec_type_url, spec_value, rootfs, created_at, updated_at";

    private readonly string _connectionString;

    public ContainerStore(string databasePath)
    {
        DatabasePath = databasePath;
        _connectionString = DurableSqlite.ConnectionString(databasePath);
    }

    public string DatabasePath { get; }

    /// <summary>
    /// Checks the file's integrity, then creates the schema; run once before serving.
    /// WAL with synchronous=FULL (set on every connection, see <see cref="OpenAsync"/>):
    /// a kill -9 or a power loss leaves every committed record and no torn page,
    /// so a Create that answered OK is on disk.
    /// </summary>
    /// <exception cref="MetadataDamagedException">The file is not a database or fails its check.</exception>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            var problem = await QuickCheckAsync(connection, cancellationToken).ConfigureAwait(false);
            if (problem is not null)
                throw new MetadataDamagedException(DatabasePath, problem);
            await using var command = connection.CreateCommand();
            command.CommandText = $"""
                PRAGMA journal_mode = WAL;
                CREATE TABLE IF NOT EXISTS containers (
                    namespace     TEXT    NOT NULL,
                    id            TEXT    NOT NULL,
                    labels        TEXT    NOT NULL,
                    image         TEXT    NOT NULL,
                    runtime       TEXT    NOT NULL,
                    spec_type_url TEXT    NOT NULL,
                    spec_value    BLOB    NOT NULL,
                    rootfs        TEXT    NOT NULL,
                    created_at    INTEGER NOT NULL,
                    updated_at    INTEGER NOT NULL,
                    PRIMARY KEY (namespace, id)
                ) WITHOUT ROWID;
                PRAGMA user_version = {SchemaVersion};
                """;
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (SqliteException e) when (e.SqliteErrorCode is SqliteCorrupt or SqliteNotADatabase)
        {
            throw new MetadataDamagedException(DatabasePath, e.Message);
        }
    }

    /// <summary>Null when <c>PRAGMA quick_check</c> says ok, else its first complaint.</summary>
    private static async Task<string?> QuickCheckAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA quick_check(1)";
        var result = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
        // SQLite's report spans lines; the operator's message is one.
        return result == "ok" ? null : "quick_check: " + string.Join(' ', (result ?? "no answer").Split('\n', StringSplitOptions.TrimEntries));
    }

    public async Task<Container?> GetAsync(string @namespace, string id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM containers WHERE namespace = $ns AND id = $id";
        command.Parameters.AddWithValue("$ns", @namespace);
        command.Parameters.AddWithValue("$id", id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? Read(reader) : null;
    }

    public async Task<List<Container>> ListAsync(string @namespace, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM containers WHERE namespace = $ns ORDER BY id";
        command.Parameters.AddWithValue("$ns", @namespace);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<Container>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            result.Add(Read(reader));
        return result;
    }

    /// <summary>Inserts the record; false when (namespace, id) already exists.</summary>
    public async Task<bool> TryInsertAsync(string @namespace, Container container, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            INSERT INTO containers (namespace, {Columns})
            VALUES ($ns, $id, $labels, $image, $runtime, $type_url, $value, $rootfs, $created, $updated)
            """;
        Bind(command, @namespace, container);
        try
        {
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (SqliteException e) when (e.SqliteErrorCode == SqliteConstraint)
        {
            return false;
        }
    }

    /// <summary>Replaces every stored field but created_at; false when the record does not exist.</summary>
    public async Task<bool> TryReplaceAsync(string @namespace, Container container, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE containers SET labels = $labels, image = $image, runtime = $runtime,
                spec_type_url = $type_url, spec_value = $value, rootfs = $rootfs, updated_at = $updated
            WHERE namespace = $ns AND id = $id
            """;
        Bind(command, @namespace, container);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task<bool> DeleteAsync(string @namespace, string id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM containers WHERE namespace = $ns AND id = $id";
        command.Parameters.AddWithValue("$ns", @namespace);
        command.Parameters.AddWithValue("$id", id);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    private Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken) =>
        DurableSqlite.OpenAsync(_connectionString, cancellationToken);

    private static void Bind(SqliteCommand command, string @namespace, Container container)
    {
        command.Parameters.AddWithValue("$ns", @namespace);
        command.Parameters.AddWithValue("$id", container.Id);
        command.Parameters.AddWithValue("$labels", LabelsJson.Write(container.Labels));
        command.Parameters.AddWithValue("$image", container.Image);
        command.Parameters.AddWithValue("$runtime", container.Runtime);
        command.Parameters.AddWithValue("$type_url", container.Spec?.TypeUrl ?? "");
        command.Parameters.AddWithValue("$value", container.Spec?.Value.ToByteArray() ?? []);
        command.Parameters.AddWithValue("$rootfs", container.Rootfs);
        command.Parameters.AddWithValue("$created", UnixNanos.From(container.CreatedAt));
        command.Parameters.AddWithValue("$updated", UnixNanos.From(container.UpdatedAt));
    }

    private static Container Read(SqliteDataReader reader)
    {
        var container = new Container
        {
            Id = reader.GetString(0),
            Image = reader.GetString(2),
            Runtime = reader.GetString(3),
            Spec = new Any
            {
                TypeUrl = reader.GetString(4),
                Value = ByteString.CopyFrom((byte[])reader.GetValue(5)),
            },
            Rootfs = reader.GetString(6),
            CreatedAt = UnixNanos.ToTimestamp(reader.GetInt64(7)),
            UpdatedAt = UnixNanos.ToTimestamp(reader.GetInt64(8)),
        };
        LabelsJson.ReadInto(reader.GetString(1), container.Labels);
        return container;
    }
}
