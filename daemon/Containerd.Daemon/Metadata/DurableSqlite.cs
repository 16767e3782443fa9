using Microsoft.Data.Sqlite;

namespace Containerd.Daemon.Metadata;

/// <summary>
/// Opens the daemon's SQLite databases: <c>synchronous = FULL</c> is a
/// per-connection setting (SQLite does not store it in the file), so every
/// connection sets it, and a record that answered OK is on disk.
/// </summary>
public static class DurableSqlite
{
    /// <summary>The daemon's one way to reach a metadata database: created if absent, pooled, 30 s of waiting for a lock.</summary>
    public static string ConnectionString(string databasePath) => new SqliteConnectionStringBuilder
    {
        DataSource = databasePath,
        Mode = SqliteOpenMode.ReadWriteCreate,
        Pooling = true,
        DefaultTimeout = 30,
    }.ToString();

    public static async Task<SqliteConnection> OpenAsync(string connectionString, CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var durable = connection.CreateCommand();
            durable.CommandText = "PRAGMA synchronous = FULL";
            await durable.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public static SqliteConnection Open(string connectionString)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            using var durable = connection.CreateCommand();
            durable.CommandText = "PRAGMA synchronous = FULL";
            durable.ExecuteNonQuery();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }
}
