using System.Text;

namespace Containerd.Http2.Hpack;

/// <summary>
/// The decoded fields of one header block. Names and values live in one reusable byte arena, so
/// decoding a block allocates nothing once the buffers have grown to size.
/// </summary>
public sealed class HpackHeaderList
{
    private byte[] _arena = new byte[1024];
    private int _arenaLength;
    private Field[] _fields = new Field[32];

    public int Count { get; private set; }

    /// <summary>True if some field of the block was read from the dynamic table (an index above 61).</summary>
    public bool ReferencesDynamicTable { get; internal set; }

    public ReadOnlySpan<byte> GetName(int index)
    {
        var field = GetField(index);
        return _arena.AsSpan(field.NameOffset, field.NameLength);
    }

    public ReadOnlySpan<byte> GetValue(int index)
    {
        var field = GetField(index);
        return _arena.AsSpan(field.ValueOffset, field.ValueLength);
    }

    /// <summary>True if the field was sent as "literal never indexed" (RFC 7541 section 6.2.3).</summary>
    public bool IsNeverIndexed(int index) => GetField(index).NeverIndexed;

    public string GetNameString(int index) => Encoding.Latin1.GetString(GetName(index));

    public string GetValueString(int index) => Encoding.Latin1.GetString(GetValue(index));

    public void Clear()
    {
        Count = 0;
        _arenaLength = 0;
        ReferencesDynamicTable = false;
    }

    public void Add(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, bool neverIndexed = false)
    {
        var nameOffset = Append(name);
        var valueOffset = Append(value);
        AddField(new Field(nameOffset, name.Length, valueOffset, value.Length, neverIndexed));
    }

    /// <summary>Replaces the value of field <paramref name="index"/>.</summary>
    public void SetValue(int index, ReadOnlySpan<byte> value)
    {
        var field = GetField(index);
        var valueOffset = Append(value);
        _fields[index] = field with { ValueOffset = valueOffset, ValueLength = value.Length };
    }

    /// <summary>Reserves <paramref name="length"/> bytes at the end of the arena for a string being decoded.</summary>
    internal Span<byte> Reserve(int length, out int offset)
    {
        EnsureArena(length);
        offset = _arenaLength;
        return _arena.AsSpan(offset, length);
    }

    /// <summary>Keeps <paramref name="length"/> bytes of the last reservation.</summary>
    internal void Commit(int length) => _arenaLength += length;

    internal ReadOnlySpan<byte> Slice(int offset, int length) => _arena.AsSpan(offset, length);

    internal void AddField(int nameOffset, int nameLength, int valueOffset, int valueLength, bool neverIndexed) =>
        AddField(new Field(nameOffset, nameLength, valueOffset, valueLength, neverIndexed));

    private void AddField(Field field)
    {
        if (Count == _fields.Length)
        {
            Array.Resize(ref _fields, _fields.Length * 2);
        }

        _fields[Count++] = field;
    }

    internal int Append(ReadOnlySpan<byte> bytes)
    {
        EnsureArena(bytes.Length);
        var offset = _arenaLength;
        bytes.CopyTo(_arena.AsSpan(offset));
        _arenaLength += bytes.Length;
        return offset;
    }

    private void EnsureArena(int extra)
    {
        var needed = (long)_arenaLength + extra;
        if (needed > _arena.Length)
        {
            var size = (int)Math.Min(Array.MaxLength, Math.Max(needed, (long)_arena.Length * 2));
            Array.Resize(ref _arena, size);
        }
    }

    private Field GetField(int index)
    {
        if ((uint)index >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(index));
        }

        return _fields[index];
    }

    private readonly record struct Field(int NameOffset, int NameLength, int ValueOffset, int ValueLength, bool NeverIndexed);
}
