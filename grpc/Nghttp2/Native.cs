using System.Runtime.InteropServices;

namespace Containerd.LeanGrpc.Nghttp2;

/// <summary>
/// The parts of libnghttp2's C API the server uses. Bound against the runtime
/// library's soname (Debian's libnghttp2-14), so the -dev package is not needed.
/// Callbacks are registered through the setter functions, which keeps the
/// callbacks struct opaque; the only structs read directly are the frame
/// header and the name/value pair, whose layout is part of the stable ABI.
/// </summary>
internal static unsafe partial class Native
{
    private const string Lib = "libnghttp2.so.14";

    public const int ErrWouldBlock = -504;
    public const int ErrDeferred = -508;
    public const int ErrCallbackFailure = -902;
    public const int ErrTemporalCallbackFailure = -521;

    public const byte FrameData = 0;
    public const byte FrameHeaders = 1;
    public const byte FlagEndStream = 0x01;

    public const uint DataFlagEof = 0x01;
    public const uint DataFlagNoEndStream = 0x02;

    public const int SettingsMaxConcurrentStreams = 0x3;
    public const int SettingsInitialWindowSize = 0x4;

    public const uint NoError = 0x0;
    public const uint Cancel = 0x8;
    public const uint InternalError = 0x2;

    [LibraryImport(Lib, EntryPoint = "nghttp2_session_callbacks_new")]
    public static partial int CallbacksNew(out nint callbacks);

    [LibraryImport(Lib, EntryPoint = "nghttp2_session_callbacks_del")]
    public static partial void CallbacksDel(nint callbacks);

    [LibraryImport(Lib, EntryPoint = "nghttp2_session_callbacks_set_send_callback")]
    public static partial void SetSendCallback(nint callbacks, delegate* unmanaged<nint, byte*, nuint, int, nint, nint> callback);

    [LibraryImport(Lib, EntryPoint = "nghttp2_session_callbacks_set_on_begin_headers_callback")]
    public static partial void SetOnBeginHeadersCallback(nint callbacks, delegate* unmanaged<nint, FrameHeader*, nint, int> callback);

    [LibraryImport(Lib, EntryPoint = "nghttp2_session_callbacks_set_on_header_callback")]
    public static partial void SetOnHeaderCallback(nint callbacks, delegate* unmanaged<nint, FrameHeader*, byte*, nuint, byte*, nuint, byte, nint, int> callback);

    [LibraryImport(Lib, EntryPoint = "nghttp2_session_callbacks_set_on_frame_recv_callback")]
    public static partial void SetOnFrameRecvCallback(nint callbacks, delegate* unmanaged<nint, FrameHeader*, nint, int> callback);

    [LibraryImport(Lib, EntryPoint = "nghttp2_session_callbacks_set_on_data_chunk_recv_callback")]
    public static partial void SetOnDataChunkRecvCallback(nint callbacks, delegate* unmanaged<nint, byte, int, byte*, nuint, nint, int> callback);

    [LibraryImport(Lib, EntryPoint = "nghttp2_session_callbacks_set_on_stream_close_callback")]
    public static partial void SetOnStreamCloseCallback(nint callbacks, delegate* unmanaged<nint, int, uint, nint, int> callback);

    [LibraryImport(Lib, EntryPoint = "nghttp2_session_server_new")]
    public static partial int SessionServerNew(out nint session, nint callbacks, nint userData);

    [LibraryImport(Lib, EntryPoint = "nghttp2_session_server_new2")]
    public static partial int SessionServerNew2(out nint session, nint callbacks, nint userData, nint option);

    [LibraryImport(Lib, EntryPoint = "nghttp2_option_new")]
    public static partial int OptionNew(out nint option);

    [LibraryImport(Lib, EntryPoint = "nghttp2_option_set_no_http_messaging")]
    public static partial void OptionSetNoHttpMessaging(nint option, int value);

    [LibraryImport(Lib, EntryPoint = "nghttp2_session_del")]
    public static partial void SessionDel(nint session);

    [LibraryImport(Lib, EntryPoint = "nghttp2_session_mem_recv")]
    public static partial nint SessionMemRecv(nint session, byte* data, nuint length);

    [LibraryImport(Lib, EntryPoint = "nghttp2_session_send")]
    public static partial int SessionSend(nint session);

    [LibraryImport(Lib, EntryPoint = "nghttp2_session_want_read")]
    public static partial int SessionWantRead(nint session);

    [LibraryImport(Lib, EntryPoint = "nghttp2_session_want_write")]
    public static partial int SessionWantWrite(nint session);

    [LibraryImport(Lib, EntryPoint = "nghttp2_session_get_last_proc_stream_id")]
    public static partial int SessionGetLastProcStreamId(nint session);

    [LibraryImport(Lib, EntryPoint = "nghttp2_session_set_local_window_size")]
    public static partial int SessionSetLocalWindowSize(nint session, byte flags, int streamId, int windowSize);

    [LibraryImport(Lib, EntryPoint = "nghttp2_submit_settings")]
    public static partial int SubmitSettings(nint session, byte flags, SettingsEntry* entries, nuint count);

    [LibraryImport(Lib, EntryPoint = "nghttp2_submit_response")]
    public static partial int SubmitResponse(nint session, int streamId, NameValue* headers, nuint count, DataProvider* data);

    [LibraryImport(Lib, EntryPoint = "nghttp2_submit_trailer")]
    public static partial int SubmitTrailer(nint session, int streamId, NameValue* headers, nuint count);

    [LibraryImport(Lib, EntryPoint = "nghttp2_session_resume_data")]
    public static partial int SessionResumeData(nint session, int streamId);

    [LibraryImport(Lib, EntryPoint = "nghttp2_submit_rst_stream")]
    public static partial int SubmitRstStream(nint session, byte flags, int streamId, uint errorCode);

    [LibraryImport(Lib, EntryPoint = "nghttp2_submit_goaway")]
    public static partial int SubmitGoaway(nint session, byte flags, int lastStreamId, uint errorCode, byte* opaqueData, nuint length);

    /// <summary>nghttp2_frame_hd: the start of every nghttp2_frame.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct FrameHeader
    {
        public nuint Length;
        public int StreamId;
        public byte Type;
        public byte Flags;
        public byte Reserved;
    }

    /// <summary>nghttp2_nv.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct NameValue
    {
        public byte* Name;
        public byte* Value;
        public nuint NameLength;
        public nuint ValueLength;
        public byte Flags;
    }

    /// <summary>nghttp2_settings_entry.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct SettingsEntry
    {
        public int Id;
        public uint Value;
    }

    /// <summary>nghttp2_data_provider: a source (unused, the stream id finds the call) and the read callback.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct DataProvider
    {
        public nint Source;
        public delegate* unmanaged<nint, int, byte*, nuint, uint*, nint, nint, nint> Read;
    }
}
