namespace Containerd.Http2;

/// <summary>How a header block goes on to the server.</summary>
internal enum HeaderBlockOutcome
{
    /// <summary>Forward the client's frames byte for byte.</summary>
    Unchanged,

    /// <summary>Send the re-encoded block in new frames.</summary>
    Reencoded,

    /// <summary>The block does not decode: let the server fail on it.</summary>
    Undecodable,
}
