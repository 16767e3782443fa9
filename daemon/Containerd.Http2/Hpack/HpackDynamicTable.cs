namespace Containerd.Http2.Hpack;

/// <summary>
/// An HPACK dynamic table (RFC 7541 section 2.3.2 and 4): entry size is name + value + 32 bytes,
/// the oldest entries are evicted to make room, and an entry larger than the table empties it.
/// </summary>
public sealed class HpackDynamicTable
{
    /// <summary>The per-entry overhead of RFC 7541 section 4.1.</summary>
    public const int EntryOverhead = 32;

    // A ring of entries; _newest is the slot of the most recently inserted one.
    private Entry[] _ring;
    private int _newest = -1;

    public HpackDynamicTable(int maxSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxSize);
        MaxSize = maxSize;
        _ring = new Entry[Math.Max(1, maxSize / EntryOverhead)];
    }

    /// <summary>Number of entries.</summary>
    public int Count { get; private set; }

    /// <summary>Sum of entry sizes (name + value + 32 each).</summary>
    public int Size { get; private set; }

    /// <summary>The current maximum size.</summary>
    public int MaxSize { get; private set; }

    /// <summary>Entry <paramref name="index"/>, 0 being the newest (HPACK index 62).</summary>
    public void Get(int index, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        if ((uint)index >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(index));
        }

        var slot = _newest - index;
        if (slot < 0)
        {
            slot += _ring.Length;
        }

        var entry = _ring[slot];
        name = entry.Data.AsSpan(0, entry.NameLength);
        value = entry.Data.AsSpan(entry.NameLength);
    }

    public void Insert(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        var size = name.Length + value.Length + EntryOverhead;
        if (size > MaxSize)
        {
            Clear();
            return;
        }

        EvictUntilAvailable(size);

        var data = new byte[name.Length + value.Length];
        name.CopyTo(data);
        value.CopyTo(data.AsSpan(name.Length));

        _newest++;
        if (_newest == _ring.Length)
        {
            _newest = 0;
        }

        _ring[_newest] = new Entry(data, name.Length);
        Count++;
        Size += size;
    }

    /// <summary>Applies a dynamic table size update, evicting as needed.</summary>
    public void Resize(int maxSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxSize);
        MaxSize = maxSize;
        EvictUntilAvailable(0);

        var capacity = Math.Max(1, maxSize / EntryOverhead);
        if (capacity > _ring.Length)
        {
            var ring = new Entry[capacity];
            for (var i = 0; i < Count; i++)
            {
                // Oldest first, so the newest ends up in slot Count - 1.
                var slot = _newest - (Count - 1 - i);
                if (slot < 0)
                {
                    slot += _ring.Length;
                }

                ring[i] = _ring[slot];
            }

            _ring = ring;
            _newest = Count - 1;
        }
    }

    private void EvictUntilAvailable(int needed)
    {
        while (Count > 0 && MaxSize - Size < needed)
        {
            var slot = _newest - (Count - 1);
            if (slot < 0)
            {
                slot += _ring.Length;
            }

            Size -= _ring[slot].Data.Length + EntryOverhead;
            _ring[slot] = default;
            Count--;
        }
    }

    private void Clear()
    {
        Array.Clear(_ring);
        Count = 0;
        Size = 0;
        _newest = -1;
    }

    private readonly record struct Entry(byte[] Data, int NameLength);
}
