using System.Security.Cryptography;
using Containerd.Api.Shim;
using Containerd.Daemon.Containers;
using Containerd.Daemon.Content;
using Containerd.Daemon.Hosting;
using Containerd.Daemon.Shims;
using Containerd.Shared.Bundles;
using Containerd.Shared.Tasks;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using ExecutionApi = Containerd.Api.Execution;
using Types = Containerd.Api.Types;

namespace Containerd.Daemon.Tasks;

/// <summary>
/// Checkpoints of tasks into the content store, and the daemon's half of a
/// restore. A checkpoint works in a scratch directory of the task's bundle
/// (<see cref="TaskBundle.CheckpointDirectory"/>): the shim runs runc
/// checkpoint into it, the image is tarred there, and only then are the tar
/// and the spec written to the store, each atomically; the scratch directory
/// goes on every path. A failure therefore leaves the store as it was and the
/// task as the shim left it (runc checkpoint without exit leaves it running).
/// </summary>
public sealed class TaskCheckpoints(IContentStore content, ContainerLocks locks, StateLayout layout, ILogger<TaskCheckpoints> logger)
{
    private const UnixFileMode PrivateDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private long _calls;

    public async Task<ExecutionApi.CheckpointResponse> CheckpointAsync(
        ITask task, ExecutionApi.CheckpointRequest request, CancellationToken cancellationToken)
    {
        var what = $"task \"{task.Id}\"";
        if (request.ParentCheckpoint.Length > 0)
            RequireBlob(request.ParentCheckpoint, $"cannot checkpoint {what}: parent checkpoint");

        // Held throughout, so Delete cannot take the bundle away under the checkpoint (with exit the task stops meanwhile).
        using var held = await locks.AcquireAsync(task.Namespace, task.Id, cancellationToken).ConfigureAwait(false);
        var bundle = layout.Bundle(task.Namespace, task.Id);
        var scratch = bundle.CheckpointDirectory(Interlocked.Increment(ref _calls));
        try
        {
            RemoveQuietly(scratch);
            var image = TaskBundle.CheckpointImage(scratch);
            var work = TaskBundle.CheckpointWork(scratch);
            Directory.CreateDirectory(scratch, PrivateDirectory);
            Directory.CreateDirectory(image, PrivateDirectory);
            Directory.CreateDirectory(work, PrivateDirectory);
            var shimRequest = new ShimCheckpointRequest
            {
                ImagePath = image,
                WorkPath = work,
                Exit = request.Exit,
                AllowTcp = request.AllowTcp,
                AllowUnixSockets = request.AllowUnixSockets,
                AllowTerminal = request.AllowTerminal,
                FileLocks = request.FileLocks,
            };
            shimRequest.EmptyNamespaces.Add(request.EmptyNamespaces);
            if (request.ParentCheckpoint.Length > 0)
            {
                shimRequest.ParentPath = TaskBundle.CheckpointParent(scratch);
                await UnpackAsync(request.ParentCheckpoint, shimRequest.ParentPath, $"cannot checkpoint {what}: parent checkpoint", cancellationToken)
                    .ConfigureAwait(false);
            }

            await task.CheckpointAsync(shimRequest, cancellationToken).ConfigureAwait(false);

            var archive = TaskBundle.CheckpointArchive(scratch);
            var tarFile = new FileStream(archive, FileMode.CreateNew, FileAccess.Write);
            await using (tarFile.ConfigureAwait(false))
                await CheckpointArchive.CreateAsync(image, tarFile, cancellationToken).ConfigureAwait(false);

            var tar = await StoreAsync(archive, CheckpointMediaTypes.CriuTar, undoOnFailure: null, cancellationToken).ConfigureAwait(false);
            var config = await StoreAsync(bundle.ConfigFile, CheckpointMediaTypes.Config, undoOnFailure: tar, cancellationToken)
                .ConfigureAwait(false);
            logger.LogInformation("checkpointed {Namespace} {ContainerId} into {Digest} ({Size} bytes, exit {Exit})",
                task.Namespace, task.Id, tar.Descriptor.Digest, tar.Descriptor.Size, request.Exit);
            var response = new ExecutionApi.CheckpointResponse();
            response.Descriptors.Add(tar.Descriptor);
            response.Descriptors.Add(config.Descriptor);
            return response;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("checkpoint of {Namespace} {ContainerId} failed: {Error}", task.Namespace, task.Id, e.Message);
            throw RpcErrors.Internal($"cannot checkpoint {what}: {e.Message}");
        }
        catch (RpcException e)
        {
            logger.LogWarning("checkpoint of {Namespace} {ContainerId} failed: {Code} {Error}", task.Namespace, task.Id, e.StatusCode, e.Status.Detail);
            throw;
        }
        finally
        {
            RemoveQuietly(scratch);
        }
    }

    /// <summary>
    /// Checks a Create's checkpoint before anything is made: the CRIU tar's
    /// media type (InvalidArgument otherwise), a well-formed digest
    /// (InvalidArgument) of a blob in the store (NotFound). A size of 0 means
    /// "unknown" (ctr run --checkpoint DIGEST sends no size) and is accepted;
    /// any other size must match the blob's.
    /// </summary>
    public void RequireRestorable(Types.ContentDescriptor checkpoint, string id)
    {
        if (checkpoint.MediaType != CheckpointMediaTypes.CriuTar)
            throw RpcErrors.InvalidArgument(
                $"cannot restore task \"{id}\": checkpoint has media type \"{checkpoint.MediaType}\"; only {CheckpointMediaTypes.CriuTar} can be restored");
        var info = RequireBlob(checkpoint.Digest, $"cannot restore task \"{id}\": checkpoint");
        if (checkpoint.Size != 0 && checkpoint.Size != info.Size)
            throw RpcErrors.InvalidArgument(
                $"cannot restore task \"{id}\": checkpoint {checkpoint.Digest} has size {info.Size}, not {checkpoint.Size}");
    }

    /// <summary>Unpacks a checkpoint's image into the bundle for the shim's restore.</summary>
    public Task UnpackForRestoreAsync(Types.ContentDescriptor checkpoint, TaskBundle bundle, string id, CancellationToken cancellationToken) =>
        UnpackAsync(checkpoint.Digest, bundle.RestoreImageDirectory, $"cannot restore task \"{id}\": checkpoint", cancellationToken);

    private ContentInfo RequireBlob(string digest, string what)
    {
        try
        {
            return content.Info(digest) ?? throw RpcErrors.NotFound($"{what} {digest} not found in the content store");
        }
        catch (InvalidDigestException e)
        {
            throw RpcErrors.InvalidArgument($"{what}: {e.Message}");
        }
    }

    private async Task UnpackAsync(string digest, string directory, string what, CancellationToken cancellationToken)
    {
        try
        {
            var blob = content.OpenRead(digest);
            await using (blob.ConfigureAwait(false))
                await CheckpointArchive.ExtractAsync(blob, directory, cancellationToken).ConfigureAwait(false);
        }
        catch (ContentNotFoundException)
        {
            throw RpcErrors.NotFound($"{what} {digest} not found in the content store");
        }
        catch (InvalidDigestException e)
        {
            throw RpcErrors.InvalidArgument($"{what}: {e.Message}");
        }
        catch (InvalidDataException e)
        {
            throw RpcErrors.InvalidArgument($"{what} {digest}: {e.Message}");
        }
    }

    /// <summary>
    /// Writes a file to the store (atomically: the store never shows a partial
    /// blob). If it fails, <paramref name="undoOnFailure"/> (the blob this
    /// checkpoint wrote before, unless it existed already) is removed again,
    /// so a failed checkpoint adds nothing.
    /// </summary>
    private async Task<Stored> StoreAsync(string path, string mediaType, Stored? undoOnFailure, CancellationToken cancellationToken)
    {
        try
        {
            var source = new FileStream(path, FileMode.Open, FileAccess.Read);
            await using (source.ConfigureAwait(false))
            {
                // The digest first: whether the blob is new decides whether a later failure may remove it.
                var digest = "sha256:" + Convert.ToHexStringLower(await SHA256.HashDataAsync(source, cancellationToken).ConfigureAwait(false));
                var existed = content.Info(digest) is not null;
                source.Position = 0;
                var info = await content.WriteAsync(source, digest, source.Length, cancellationToken).ConfigureAwait(false);
                return new Stored(new Types.ContentDescriptor { MediaType = mediaType, Digest = info.Digest, Size = info.Size }, IsNew: !existed);
            }
        }
        catch when (undoOnFailure is { IsNew: true } written)
        {
            content.Delete(written.Descriptor.Digest);
            throw;
        }
    }

    private void RemoveQuietly(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
                Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("cannot remove checkpoint directory {Path}: {Error}", directory, e.Message);
        }
    }

    /// <summary>A blob this checkpoint wrote; <paramref name="IsNew"/> when it was not in the store before.</summary>
    private sealed record Stored(Types.ContentDescriptor Descriptor, bool IsNew);
}
