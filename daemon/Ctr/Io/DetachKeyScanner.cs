namespace Containerd.Ctr.Io;

/// <summary>
/// Finds the detach sequence Ctrl-P Ctrl-Q (as Docker's attach) in the bytes
/// read from ctr's stdin. Everything else passes through unchanged, in order:
/// a Ctrl-P is held back only until the next byte shows whether it starts the
/// sequence, across reads if need be, and is forwarded when it does not.
/// </summary>
public sealed class DetachKeyScanner
{
    public const byte CtrlP = 0x10;
    public const byte CtrlQ = 0x11;

    private bool _holdingCtrlP;

    /// <summary>Set once the sequence was seen; later input is ignored.</summary>
    public bool Detached { get; private set; }

    /// <summary>The most bytes one <see cref="Scan"/> of <paramref name="inputLength"/> bytes can produce (a held Ctrl-P plus the input).</summary>
    public static int MaxOutput(int inputLength) => inputLength + 1;

    /// <summary>
    /// Copies to <paramref name="output"/> what should be forwarded of
    /// <paramref name="input"/> and returns how many bytes that is. On the
    /// sequence it sets <see cref="Detached"/>: bytes before it are returned, the sequence and anything after it are not.
    /// </summary>
    public int Scan(ReadOnlySpan<byte> input, Span<byte> output)
    {
        if (output.Length < MaxOutput(input.Length))
            throw new ArgumentException("output too small: it needs room for a held Ctrl-P plus the input", nameof(output));
        var count = 0;
        if (Detached)
            return 0;
        foreach (var b in input)
        {
            if (_holdingCtrlP)
            {
                _holdingCtrlP = false;
                if (b == CtrlQ)
                {
                    Detached = true;
                    return count;
                }
                output[count++] = CtrlP;
            }
            if (b == CtrlP)
                _holdingCtrlP = true;
            else
                output[count++] = b;
        }
        return count;
    }

    /// <summary>At the end of input: a Ctrl-P still held back was not a detach, so it is forwarded after all.</summary>
    public int Flush(Span<byte> output)
    {
        if (!_holdingCtrlP || Detached)
            return 0;
        _holdingCtrlP = false;
        output[0] = CtrlP;
        return 1;
    }
}
