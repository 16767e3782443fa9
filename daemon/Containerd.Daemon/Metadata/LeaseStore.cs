using Microsoft.Data.Sqlite;

namespace Containerd.Daemon.Metadata;

/// <summary>
/// containerd's leases, reduced to what a pull needs: before a pull writes a
/// blob, the blob's digest is recorded here under the pull's lease id, durably,
/// so that whatever a pull cut short leaves in the content store is known
/// even after a <c>kill -9</c>. A lease goes when its pull has written its
/// image record, or when the blobs of a failed pull were collected; at
/// start-up every lease is stale (no pull outlives the daemon).
/// </summary>
public sealed class LeaseStore
{
    private readonly string _connectionString;

    public LeaseStore(string databasePath)
    {
        _connectionString = DurableSqlite.ConnectionString(databasePath);
    }

    /// <summary>Creates the table; run after <see cref="ContainerStore.InitializeAsync"/> (which checks the file).</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            CREATE TABLE IF NOT EXISTS leases (
                id     TEXT NOT NULL,
                digest TEXT NOT NULL,
                PRIMARY KEY (id, digest)
            ) WITHOUT ROWID;
            """;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Adds <paramref name="digests"/> to the lease (one transaction; a digest already there is fine).</summary>
    public async Task AddAsync(string id, IEnumerable<string> digests, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT OR IGNORE INTO leases (id, digest) VALUES ($id, $digest)";
        var idParameter = command.Parameters.Add("$id", SqliteType.Text);
        var digestParameter = command.Parameters.Add("$digest", SqliteType.Text);
        idParameter.Value = id;
        foreach (var digest in digests)
        {
            digestParameter.Value = digest;
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The digests of one lease, or of every lease when <paramref name="id"/> is null.</summary>
    public async Task<IReadOnlyList<string>> DigestsAsync(string? id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = id is null
            ? "SELECT DISTINCT digest FROM leases ORDER BY digest"
            : "SELECT digest FROM leases WHERE id = $id ORDER BY digest";
        if (id is not null)
            command.Parameters.AddWithValue("$id", id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var digests = new List<string>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            digests.Add(reader.GetString(0));
        return digests;
    }

    /// <summary>Removes one lease, or every lease when <paramref name="id"/> is null; returns how many rows went.</summary>
    public async Task<int> ReleaseAsync(string? id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = id is null ? "DELETE FROM leases" : "DELETE FROM leases WHERE id = $id";
        if (id is not null)
            command.Parameters.AddWithValue("$id", id);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken) =>
        DurableSqlite.OpenAsync(_connectionString, cancellationToken);
}
