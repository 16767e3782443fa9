namespace Containerd.Http2.Frames;

/// <summary>The HEADERS and CONTINUATION flags (RFC 9113 section 6.2) a rewritten block must respect.</summary>
internal static class FrameFlags
{
    public const byte EndStream = 0x1;
    public const byte EndHeaders = 0x4;
    public const byte Padded = 0x8;
    public const byte Priority = 0x20;
}
