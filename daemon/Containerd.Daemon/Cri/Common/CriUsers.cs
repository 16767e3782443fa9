using Containerd.Daemon.Content;
using Containerd.Daemon.Cri.Specs;
using Containerd.Daemon.Hosting;
using Containerd.Shared.Images;
using Containerd.Shared.Users;

namespace Containerd.Daemon.Cri.Common;

/// <summary>
/// Turns the user a CRI container asks for (run_as_username, run_as_user,
/// run_as_group, or the image's USER) into numbers, reading the image's
/// /etc/passwd and /etc/group from its layers in the content store, as ctr does
/// through the Content API, only when a name needs them.
/// </summary>
public sealed class CriUsers(IContentStore content)
{
    public async Task<SpecUser> ResolveAsync(string requested, ResolvedImage image, string imageName, CancellationToken cancellationToken)
    {
        try
        {
            var database = UserDatabase.None($"image {imageName}");
            if (UserDatabase.NeedsFiles(requested) || requested.Length == 0 || !requested.Contains(':', StringComparison.Ordinal))
            {
                // Names need the files; a bare uid needs them for its primary group and its groups.
                var files = await LayerFileReader.ReadAsync(image.Layers, OpenAsync, [UserFiles.Passwd, UserFiles.Group], cancellationToken)
                    .ConfigureAwait(false);
                database = UserFiles.FromContents(files[UserFiles.Passwd], files[UserFiles.Group], $"image {imageName}");
            }
            var user = database.Resolve(requested);
            return new SpecUser(user.Uid, user.Gid, user.AdditionalGids);
        }
        catch (UserLookupException e)
        {
            throw RpcErrors.InvalidArgument(e.Message);
        }
        catch (Exception e) when (e is ImageFormatException or NotSupportedException or ContentNotFoundException)
        {
            throw RpcErrors.FailedPrecondition($"cannot read the users of image {imageName}: {e.Message}");
        }
    }

    private Task<Stream> OpenAsync(BlobRef layer, CancellationToken cancellationToken) =>
        Task.FromResult(content.OpenRead(layer.Digest));
}
