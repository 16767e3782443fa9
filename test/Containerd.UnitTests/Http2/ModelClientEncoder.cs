namespace Containerd.UnitTests.Http2;

/// <summary>
/// A randomised HPACK encoder with its own dynamic table, standing in for a real client (grpc-go
/// indexes almost everything): it mixes every representation, indexes into both tables, Huffman and
/// plain strings, and table size updates.
/// </summary>
internal sealed class ModelClientEncoder
{
    private readonly List<(string Name, string Value)> _table = []; // newest first
    private readonly Random random;
    private readonly int settingsTableSize;
    private int _maxSize;

    public ModelClientEncoder(Random random, int settingsTableSize = 4096)
    {
        this.random = random;
        this.settingsTableSize = settingsTableSize;
        _maxSize = settingsTableSize;
    }

    public byte[] Encode(IReadOnlyList<(string Name, string Value)> fields)
    {
        var block = new TestHpackBlock();
        if (random.Next(8) == 0)
        {
            // One or two size updates; the last one sets the size.
            if (random.Next(2) == 0)
            {
                _maxSize = random.Next(0, settingsTableSize + 1);
                block.SizeUpdate(_maxSize);
                Evict(0);
            }

            _maxSize = random.Next(4) == 0 ? random.Next(0, 300) : random.Next(0, settingsTableSize + 1);
            block.SizeUpdate(_maxSize);
            Evict(0);
        }

        foreach (var field in fields)
        {
            var dynamicIndex = _table.IndexOf(field);
            var staticIndex = Array.IndexOf(ReferenceHpackDecoder.StaticTable, field);
            var choice = random.Next(4);
            if (dynamicIndex >= 0 && choice < 2)
            {
                block.Indexed(62 + dynamicIndex);
                continue;
            }

            if (staticIndex >= 0 && choice == 2)
            {
                block.Indexed(staticIndex + 1);
                continue;
            }

            var nameIndex = 0;
            var dynamicName = _table.FindIndex(e => e.Name == field.Name);
            var staticName = Array.FindIndex(ReferenceHpackDecoder.StaticTable, e => e.Name == field.Name);
            switch (random.Next(3))
            {
                case 0 when dynamicName >= 0:
                    nameIndex = 62 + dynamicName;
                    break;
                case 1 when staticName >= 0:
                    nameIndex = staticName + 1;
                    break;
            }

            var huffman = random.Next(2) == 0;
            switch (random.Next(3))
            {
                case 0:
                    _ = nameIndex == 0 ? block.Incremental(field.Name, field.Value, huffman) : block.Incremental(nameIndex, field.Value, huffman);
                    Insert(field);
                    break;
                case 1:
                    _ = nameIndex == 0 ? block.WithoutIndexing(field.Name, field.Value, huffman) : block.WithoutIndexing(nameIndex, field.Value, huffman);
                    break;
                default:
                    _ = nameIndex == 0 ? block.NeverIndexed(field.Name, field.Value, huffman) : block.NeverIndexed(nameIndex, field.Value, huffman);
                    break;
            }
        }

        return block.ToArray();
    }

    private void Insert((string Name, string Value) field)
    {
        var size = field.Name.Length + field.Value.Length + 32;
        Evict(size);
        if (size <= _maxSize)
        {
            _table.Insert(0, field);
        }
    }

    private void Evict(int needed)
    {
        while (_table.Count > 0 && _table.Sum(e => e.Name.Length + e.Value.Length + 32) + needed > _maxSize)
        {
            _table.RemoveAt(_table.Count - 1);
        }
    }
}
