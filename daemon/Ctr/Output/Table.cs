namespace Containerd.Ctr.Output;

/// <summary>Left-aligned columns separated by at least three spaces, like the original ctr's tabwriter output.</summary>
public sealed class Table(params string[] headers)
{
    private const int Gap = 3;
    private readonly List<string[]> _rows = [headers];

    public void Add(params string[] cells) => _rows.Add(cells);

    public void WriteTo(TextWriter writer)
    {
        var widths = new int[headers.Length];
        foreach (var row in _rows)
        {
            for (var i = 0; i < row.Length && i < widths.Length; i++)
                widths[i] = Math.Max(widths[i], row[i].Length);
        }
        foreach (var row in _rows)
        {
            var line = string.Concat(row.Select((cell, i) => i == row.Length - 1 ? cell : cell.PadRight(widths[i] + Gap)));
            writer.WriteLine(line.TrimEnd());
        }
    }
}
