using Containerd.Daemon.Metadata;
using Google.Protobuf;
using Microsoft.Data.Sqlite;

namespace Containerd.Daemon.Cri.Store;

/// <summary>
/// One kind of CRI record (sandboxes or containers) in a table of the metadata
/// database, protobuf-encoded, with every record also in memory: the kubelet
/// lists sandboxes and containers every second, and a list must not cost a
/// database read. Writes reach the file (synchronous = FULL) before memory,
/// so what a caller was told is what a restarted daemon loads.
/// </summary>
public sealed class CriRecordTable<T> where T : class, IMessage<T>
{
    private readonly string _connectionString;
    private readonly string _table;
    private readonly MessageParser<T> _parser;
    private readonly Func<T, string> _idOf;
    private readonly Dictionary<string, T> _records = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _writes = new(1, 1);
    private readonly Lock _memory = new();

    public CriRecordTable(string databasePath, string table, MessageParser<T> parser, Func<T, string> idOf)
    {
        _connectionString = DurableSqlite.ConnectionString(databasePath);
        _table = table;
        _parser = parser;
        _idOf = idOf;
    }

    /// <summary>Creates the table and loads every record; a record that does not parse is skipped (and stays in the file).</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await DurableSqlite.OpenAsync(_connectionString, cancellationToken).ConfigureAwait(false);
        await using (var create = connection.CreateCommand())
        {
            create.CommandText = $"CREATE TABLE IF NOT EXISTS {_table} (id TEXT PRIMARY KEY NOT NULL, record BLOB NOT NULL) WITHOUT ROWID";
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await using var select = connection.CreateCommand();
        select.CommandText = $"SELECT id, record FROM {_table}";
        await using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var loaded = new Dictionary<string, T>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            try
            {
                loaded[reader.GetString(0)] = _parser.ParseFrom((byte[])reader.GetValue(1));
            }
            catch (InvalidProtocolBufferException)
            {
            }
        }
        lock (_memory)
        {
            _records.Clear();
            foreach (var (id, record) in loaded)
                _records[id] = record;
        }
    }

    /// <summary>A copy of the record, or null.</summary>
    public T? Get(string id)
    {
        lock (_memory)
            return _records.TryGetValue(id, out var record) ? record.Clone() : null;
    }

    /// <summary>Copies of every record.</summary>
    public List<T> List()
    {
        lock (_memory)
            return [.. _records.Values.Select(r => r.Clone())];
    }

    /// <summary>Inserts a record whose id is new; false if the id exists.</summary>
    public async Task<bool> TryInsertAsync(T record, CancellationToken cancellationToken)
    {
        var id = _idOf(record);
        await _writes.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            lock (_memory)
            {
                if (_records.ContainsKey(id))
                    return false;
            }
            await WriteAsync(id, record, cancellationToken).ConfigureAwait(false);
            lock (_memory)
                _records[id] = record.Clone();
            return true;
        }
        finally
        {
            _writes.Release();
        }
    }

    /// <summary>
    /// Changes a record in place: <paramref name="change"/> gets a copy and its
    /// result is stored. Returns the stored record, or null when there is none.
    /// Changes are serialised, so two updates never lose each other's fields.
    /// </summary>
    public async Task<T?> UpdateAsync(string id, Action<T> change, CancellationToken cancellationToken)
    {
        await _writes.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            T copy;
            lock (_memory)
            {
                if (!_records.TryGetValue(id, out var current))
                    return null;
                copy = current.Clone();
            }
            change(copy);
            await WriteAsync(id, copy, cancellationToken).ConfigureAwait(false);
            lock (_memory)
                _records[id] = copy.Clone();
            return copy;
        }
        finally
        {
            _writes.Release();
        }
    }

    /// <summary>Removes a record; false if there was none.</summary>
    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken)
    {
        await _writes.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            lock (_memory)
            {
                if (!_records.ContainsKey(id))
                    return false;
            }
            await using var connection = await DurableSqlite.OpenAsync(_connectionString, cancellationToken).ConfigureAwait(false);
            await using var command = connection.CreateCommand();
            command.CommandText = $"DELETE FROM {_table} WHERE id = $id";
            command.Parameters.AddWithValue("$id", id);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            lock (_memory)
                _records.Remove(id);
            return true;
        }
        finally
        {
            _writes.Release();
        }
    }

    private async Task WriteAsync(string id, T record, CancellationToken cancellationToken)
    {
        await using var connection = await DurableSqlite.OpenAsync(_connectionString, cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"INSERT OR REPLACE INTO {_table} (id, record) VALUES ($id, $record)";
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$record", record.ToByteArray());
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
