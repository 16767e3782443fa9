namespace Containerd.Http2.Frames;

/// <summary>The frame types that carry a header block; every other type is forwarded untouched.</summary>
internal static class FrameType
{
    public const byte Headers = 0x1;
    public const byte Continuation = 0x9;
}
