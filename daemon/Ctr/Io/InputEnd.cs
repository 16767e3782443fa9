namespace Containerd.Ctr.Io;

/// <summary>Why copying ctr's stdin to a process stopped.</summary>
public enum InputEnd
{
    /// <summary>ctr's stdin reached EOF (or failed, e.g. a hung-up terminal).</summary>
    EndOfInput,

    /// <summary>The user typed the detach keys.</summary>
    Detached,

    /// <summary>Writing to the FIFO failed: nothing reads the process's stdin any more.</summary>
    ReaderGone,

    /// <summary>ctr stopped the copy itself.</summary>
    Stopped,
}
