namespace Containerd.Shim.Io;

/// <summary>
/// Frames one stream's bytes (stdout or stderr) into CRI log records,
/// <c>&lt;time&gt; &lt;stream&gt; &lt;F|P&gt; &lt;text&gt;\n</c>, as
/// containerd 1.6's CRI logger does (pkg/cri/io/logger.go): each line (split
/// at '\n'; a "\r\n" ending counts as the newline, so a terminal's lines carry
/// no '\r') is one <c>F</c> record; a line longer than the maximum is cut into
/// <c>P</c> records of exactly the maximum, the last piece being the
/// <c>F</c> (a piece is only written as <c>P</c> once a byte of the line is
/// known to follow it); at end of input an unterminated line is written as
/// <c>P</c>. Only the copier thread of its stream calls it.
/// <para>
/// The record is assembled in one buffer owned by the stream, allocated once:
/// the pending line sits after room for the header, which the writer formats
/// right before it (under its lock, so times never go back in the file), and
/// a record is one contiguous span for one write.
/// </para>
/// </summary>
internal sealed class CriLogStream
{
    /// <summary>containerd's default <c>max_container_log_line_size</c>.</summary>
    public const int DefaultMaxLineSize = 16 * 1024;

    // The writer formats the header into the room before the text.
    private const int HeaderRoom = CriLogWriter.MaxHeaderLength;

    private readonly CriLogWriter _writer;
    private readonly byte[] _stream;
    private readonly int _maxLineSize;
    private readonly byte[] _record;
    private int _pending;
    // A '\r' ended the last chunk: whether it is text or half of "\r\n" is known with the next byte.
    private bool _heldCarriageReturn;

    /// <param name="stream"><c>stdout</c> or <c>stderr</c>, the record's stream field.</param>
    public CriLogStream(string stream, CriLogWriter writer, int maxLineSize = DefaultMaxLineSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineSize, 1);
        _stream = System.Text.Encoding.ASCII.GetBytes(stream);
        if (_stream.Length > CriLogWriter.MaxStreamNameLength)
            throw new ArgumentException($"stream name \"{stream}\" is too long", nameof(stream));
        _writer = writer;
        _maxLineSize = maxLineSize;
        _record = new byte[HeaderRoom + maxLineSize + 1];
    }

    /// <summary>Frames a chunk read from the stream; writes every record it completes.</summary>
    public void Append(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
            return;
        if (_heldCarriageReturn)
        {
            _heldCarriageReturn = false;
            if (data[0] == (byte)'\n')
            {
                WriteRecord((byte)'F');
                data = data[1..];
            }
            else
            {
                AddText("\r"u8);
            }
        }
        while (!data.IsEmpty)
        {
            var newline = data.IndexOf((byte)'\n');
            if (newline < 0)
            {
                var text = data;
                if (text[^1] == (byte)'\r')
                {
                    text = text[..^1];
                    _heldCarriageReturn = true;
                }
                AddText(text);
                return;
            }
            var line = data[..newline];
            if (!line.IsEmpty && line[^1] == (byte)'\r')
                line = line[..^1];
            AddText(line);
            WriteRecord((byte)'F');
            data = data[(newline + 1)..];
        }
    }

    /// <summary>End of the stream: an unterminated line is written as a partial record.</summary>
    public void Complete()
    {
        if (_heldCarriageReturn)
        {
            _heldCarriageReturn = false;
            AddText("\r"u8);
        }
        if (_pending > 0)
            WriteRecord((byte)'P');
    }

    private void AddText(ReadOnlySpan<byte> text)
    {
        while (!text.IsEmpty)
        {
            // A full piece is written only now that more of its line has come.
            if (_pending == _maxLineSize)
                WriteRecord((byte)'P');
            var take = Math.Min(_maxLineSize - _pending, text.Length);
            text[..take].CopyTo(_record.AsSpan(HeaderRoom + _pending));
            _pending += take;
            text = text[take..];
        }
    }

    private void WriteRecord(byte tag)
    {
        _record[HeaderRoom + _pending] = (byte)'\n';
        _writer.WriteRecord(_record, HeaderRoom, _pending + 1, _stream, tag);
        _pending = 0;
    }
}
