using Runtime.V1;

namespace Containerd.Daemon.Cri.Specs;

/// <summary>
/// The numeric user a process runs as, resolved by the caller against the
/// image's <c>/etc/passwd</c> and <c>/etc/group</c> (see <see cref="Requested"/> for
/// what to resolve). <see cref="AdditionalGids"/> are the groups <c>/etc/group</c>
/// lists the user in; the spec adds the primary gid and the security context's
/// <c>supplemental_groups</c> to them (sorted, without duplicates, as containerd).
/// </summary>
public sealed record SpecUser(uint Uid, uint Gid, IReadOnlyList<uint> AdditionalGids)
{
    public static SpecUser Root { get; } = new(0, 0, []);

    /// <summary>
    /// The user string (OCI image form: <c>user[:group]</c>) a container or
    /// sandbox asks for, as containerd's generateUserString: <c>run_as_username</c>
    /// wins over <c>run_as_user</c>, <c>run_as_group</c> is appended as <c>:gid</c>,
    /// and with neither the image's <c>User</c>. Empty: the runtime default (root,
    /// uid 0 gid 0; /etc/group may still add groups).
    /// </summary>
    /// <exception cref="SpecException">InvalidArgument: <c>run_as_group</c> without a user.</exception>
    public static string Requested(string? runAsUsername, Int64Value? runAsUser, Int64Value? runAsGroup, string imageUser)
    {
        var user = runAsUser is null ? "" : runAsUser.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (!string.IsNullOrEmpty(runAsUsername))
            user = runAsUsername;
        if (runAsGroup is not null && user.Length == 0)
            throw new SpecException(Grpc.Core.StatusCode.InvalidArgument,
                $"run_as_group {runAsGroup.Value} is given without run_as_user or run_as_username");
        if (user.Length == 0)
            return imageUser;
        return runAsGroup is null ? user : $"{user}:{runAsGroup.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
    }
}
