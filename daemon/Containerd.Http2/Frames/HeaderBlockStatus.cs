namespace Containerd.Http2.Frames;

/// <summary>What a HEADERS or CONTINUATION frame did to the block being assembled.</summary>
internal enum HeaderBlockStatus
{
    /// <summary>More CONTINUATION frames follow.</summary>
    Incomplete,

    /// <summary>END_HEADERS seen: the block is ready.</summary>
    Complete,

    /// <summary>Padding or priority that does not fit the frame: the server reports it, not us.</summary>
    Malformed,
}
