using System.Collections;
using System.Runtime.InteropServices;
using System.Text;
using Containerd.Shared.Native;

namespace Containerd.Shim.Native;

/// <summary>
/// Starts children with posix_spawnp. System.Diagnostics.Process is never used
/// in the shim: its own SIGCHLD handling aborts the runtime when another
/// thread reaps with waitpid(-1), which the shim must do as a subreaper.
/// The child gets exactly fds 0/1/2 (everything else is closed), default
/// signal dispositions (.NET ignores SIGPIPE, which a container must not
/// inherit) and an empty signal mask.
/// </summary>
internal sealed unsafe class ProcessSpawner : IDisposable
{
    private readonly byte** _environment;
    private readonly int _environmentCount;

    public ProcessSpawner()
    {
        // Built once: the shim's environment does not change, and per-spawn
        // copies would be garbage for every runc call.
        var variables = new List<string>();
        foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
            variables.Add($"{entry.Key}={entry.Value}");
        _environmentCount = variables.Count;
        _environment = AllocStringArray(variables);
    }

    /// <summary>Spawns <paramref name="file"/> (searched on PATH) and returns its pid.</summary>
    /// <exception cref="SpawnException">posix_spawnp failed (e.g. the binary does not exist).</exception>
    public int Spawn(string file, IReadOnlyList<string> argv, int stdin, int stdout, int stderr)
    {
        var fileActions = NativeMemory.AllocZeroed(Posix.FileActionsSize);
        var attributes = NativeMemory.AllocZeroed(Posix.SpawnAttrSize);
        var sigset = NativeMemory.AllocZeroed(Posix.SigSetSize);
        var fileBytes = Utf8(file);
        var args = AllocStringArray(argv);
        try
        {
            Check(Posix.FileActionsInit(fileActions), "posix_spawn_file_actions_init");
            Check(Posix.SpawnAttrInit(attributes), "posix_spawnattr_init");
            try
            {
                Check(Posix.FileActionsAddDup2(fileActions, stdin, 0), "adddup2");
                Check(Posix.FileActionsAddDup2(fileActions, stdout, 1), "adddup2");
                Check(Posix.FileActionsAddDup2(fileActions, stderr, 2), "adddup2");
                // Belt and braces: the shim opens everything O_CLOEXEC, but a
                // leaked fd in a container would be a hole, so close the rest too.
                Check(Posix.FileActionsAddCloseFrom(fileActions, 3), "addclosefrom_np");

                Posix.SigFillSet(sigset);
                Check(Posix.SpawnAttrSetSigDefault(attributes, sigset), "posix_spawnattr_setsigdefault");
                Posix.SigEmptySet(sigset);
                Check(Posix.SpawnAttrSetSigMask(attributes, sigset), "posix_spawnattr_setsigmask");
                Check(Posix.SpawnAttrSetFlags(attributes, Posix.POSIX_SPAWN_SETSIGDEF | Posix.POSIX_SPAWN_SETSIGMASK),
                    "posix_spawnattr_setflags");

                int pid;
                fixed (byte* path = fileBytes)
                {
                    var error = Posix.PosixSpawnP(&pid, path, fileActions, attributes, args, _environment);
                    if (error != 0)
                        throw new SpawnException(file, error);
                }
                return pid;
            }
            finally
            {
                Posix.FileActionsDestroy(fileActions);
                Posix.SpawnAttrDestroy(attributes);
            }
        }
        finally
        {
            FreeStringArray(args, argv.Count);
            NativeMemory.Free(sigset);
            NativeMemory.Free(attributes);
            NativeMemory.Free(fileActions);
        }
    }

    public void Dispose() => FreeStringArray(_environment, _environmentCount);

    private static void Check(int error, string what)
    {
        if (error != 0)
            throw new SpawnException(what, error);
    }

    private static byte[] Utf8(string value)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(value) + 1];
        Encoding.UTF8.GetBytes(value, bytes);
        return bytes;
    }

    private static byte** AllocStringArray(IReadOnlyList<string> values)
    {
        var array = (byte**)NativeMemory.AllocZeroed((nuint)(values.Count + 1), (nuint)sizeof(byte*));
        for (var i = 0; i < values.Count; i++)
            array[i] = (byte*)Marshal.StringToCoTaskMemUTF8(values[i]);
        return array;
    }

    private static void FreeStringArray(byte** array, int count)
    {
        if (array == null)
            return;
        for (var i = 0; i < count; i++)
            Marshal.FreeCoTaskMem((nint)array[i]);
        NativeMemory.Free(array);
    }
}
