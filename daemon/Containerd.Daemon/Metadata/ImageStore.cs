using Containerd.Api.Images;
using ContentDescriptor = Containerd.Api.Types.ContentDescriptor;
using Microsoft.Data.Sqlite;

namespace Containerd.Daemon.Metadata;

/// <summary>
/// Image records (name → target descriptor, labels, times) in the metadata
/// database beside the containers, keyed by (namespace, name) as containerd
/// scopes them. Like <see cref="ContainerStore"/> it does no validation; the
/// Images service and the pull serialise what must be serialised.
/// </summary>
public sealed class ImageStore
{
    private const int SqliteConstraint = 19;
    private const string Columns = "name, labels, media_type, digest, size, created_at, updated_at";

    private readonly string _connectionString;

    public ImageStore(string databasePath)
    {
        _connectionString = DurableSqlite.ConnectionString(databasePath);
    }

    /// <summary>Creates the table; run after <see cref="ContainerStore.InitializeAsync"/> (which checks the file).</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        // A new table, not a new column: databases written before images existed need no migration.
        command.CommandText = """
            CREATE TABLE IF NOT EXISTS images (
                namespace  TEXT    NOT NULL,
                name       TEXT    NOT NULL,
                labels     TEXT    NOT NULL,
                media_type TEXT    NOT NULL,
                digest     TEXT    NOT NULL,
                size       INTEGER NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                PRIMARY KEY (namespace, name)
            ) WITHOUT ROWID;
            """;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<Image?> GetAsync(string @namespace, string name, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM images WHERE namespace = $ns AND name = $name";
        command.Parameters.AddWithValue("$ns", @namespace);
        command.Parameters.AddWithValue("$name", name);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? Read(reader) : null;
    }

    public async Task<List<Image>> ListAsync(string @namespace, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM images WHERE namespace = $ns ORDER BY name";
        command.Parameters.AddWithValue("$ns", @namespace);
        return await ReadAllAsync(command, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Every namespace's images: the garbage collector's roots.</summary>
    public async Task<List<Image>> ListAllAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM images ORDER BY namespace, name";
        return await ReadAllAsync(command, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Inserts the record; false when (namespace, name) already exists.</summary>
    public async Task<bool> TryInsertAsync(string @namespace, Image image, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            INSERT INTO images (namespace, {Columns})
            VALUES ($ns, $name, $labels, $media_type, $digest, $size, $created, $updated)
            """;
        Bind(command, @namespace, image);
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
    public async Task<bool> TryReplaceAsync(string @namespace, Image image, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE images SET labels = $labels, media_type = $media_type, digest = $digest, size = $size, updated_at = $updated
            WHERE namespace = $ns AND name = $name
            """;
        Bind(command, @namespace, image);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <summary>Inserts or replaces (a pull of a name that exists moves it to the new target), keeping created_at.</summary>
    public async Task<Image> PutAsync(string @namespace, Image image, CancellationToken cancellationToken)
    {
        var existing = await GetAsync(@namespace, image.Name, cancellationToken).ConfigureAwait(false);
        var record = image.Clone();
        record.CreatedAt = existing?.CreatedAt ?? image.UpdatedAt;
        if (existing is null && await TryInsertAsync(@namespace, record, cancellationToken).ConfigureAwait(false))
            return record;
        await TryReplaceAsync(@namespace, record, cancellationToken).ConfigureAwait(false);
        return record;
    }

    public async Task<bool> DeleteAsync(string @namespace, string name, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM images WHERE namespace = $ns AND name = $name";
        command.Parameters.AddWithValue("$ns", @namespace);
        command.Parameters.AddWithValue("$name", name);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    private Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken) =>
        DurableSqlite.OpenAsync(_connectionString, cancellationToken);

    private static async Task<List<Image>> ReadAllAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<Image>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            result.Add(Read(reader));
        return result;
    }

    private static void Bind(SqliteCommand command, string @namespace, Image image)
    {
        command.Parameters.AddWithValue("$ns", @namespace);
        command.Parameters.AddWithValue("$name", image.Name);
        command.Parameters.AddWithValue("$labels", LabelsJson.Write(image.Labels));
        command.Parameters.AddWithValue("$media_type", image.Target?.MediaType ?? "");
        command.Parameters.AddWithValue("$digest", image.Target?.Digest ?? "");
        command.Parameters.AddWithValue("$size", image.Target?.Size ?? 0);
        command.Parameters.AddWithValue("$created", UnixNanos.From(image.CreatedAt));
        command.Parameters.AddWithValue("$updated", UnixNanos.From(image.UpdatedAt));
    }

    private static Image Read(SqliteDataReader reader)
    {
        var image = new Image
        {
            Name = reader.GetString(0),
            Target = new ContentDescriptor
            {
                MediaType = reader.GetString(2),
                Digest = reader.GetString(3),
                Size = reader.GetInt64(4),
            },
            CreatedAt = UnixNanos.ToTimestamp(reader.GetInt64(5)),
            UpdatedAt = UnixNanos.ToTimestamp(reader.GetInt64(6)),
        };
        LabelsJson.ReadInto(reader.GetString(1), image.Labels);
        return image;
    }
}
