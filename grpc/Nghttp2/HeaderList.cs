using System.Runtime.InteropServices;
using System.Text;

namespace Containerd.LeanGrpc.Nghttp2;

/// <summary>
/// Builds an nghttp2_nv array in one native block for a submit call. nghttp2
/// copies names and values on submit, so the block lives only for the call.
/// </summary>
internal sealed class HeaderList
{
    private readonly List<KeyValuePair<string, string>> _headers = new(4);

    public int Count => _headers.Count;

    public void Add(string name, string value) => _headers.Add(new(name, value));

    /// <summary>The nghttp2_nv array; release it with <see cref="Free"/> once submitted.</summary>
    public unsafe Native.NameValue* Build()
    {
        var nvSize = sizeof(Native.NameValue) * _headers.Count;
        var total = nvSize;
        foreach (var (name, value) in _headers)
            total += Encoding.UTF8.GetByteCount(name) + Encoding.UTF8.GetByteCount(value);
        var block = (byte*)NativeMemory.Alloc((nuint)Math.Max(total, 1));
        {
            var nv = (Native.NameValue*)block;
            var text = block + nvSize;
            var end = block + total;
            for (var i = 0; i < _headers.Count; i++)
            {
                var (name, value) = _headers[i];
                var nameLength = Encoding.UTF8.GetBytes(name, new Span<byte>(text, (int)(end - text)));
                nv[i].Name = text;
                nv[i].NameLength = (nuint)nameLength;
                text += nameLength;
                var valueLength = Encoding.UTF8.GetBytes(value, new Span<byte>(text, (int)(end - text)));
                nv[i].Value = text;
                nv[i].ValueLength = (nuint)valueLength;
                text += valueLength;
                nv[i].Flags = 0;
            }
            return nv;
        }
    }

    public static unsafe void Free(Native.NameValue* block) => NativeMemory.Free(block);
}
