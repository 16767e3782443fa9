using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Grpc.Core;
using Runtime.V1;

namespace Containerd.Daemon.Cri.Specs;

/// <summary>
/// Which seccomp profile a sandbox or container gets, as containerd 1.6
/// decides: the <c>seccomp</c> field, else the deprecated
/// <c>seccomp_profile_path</c> (<c>runtime/default</c> and <c>docker/default</c>
/// are the default profile, <c>unconfined</c> none, <c>localhost/PATH</c> a file);
/// neither: none (containerd's default with an empty <c>unset_seccomp_profile</c>).
/// A privileged process never gets one.
/// </summary>
public static class SeccompProfiles
{
    private const string LocalhostPrefix = "localhost/";

    /// <param name="what">Names the sandbox or container in messages.</param>
    /// <returns>The <c>linux.seccomp</c> object, or null for none.</returns>
    /// <exception cref="SpecException">A malformed setting (InvalidArgument) or an unreadable profile file (NotFound / InvalidArgument).</exception>
    public static JsonObject? Resolve(
        SecurityProfile? profile, string? deprecatedPath, bool privileged, IEnumerable<string> boundingCapabilities,
        Architecture architecture, Func<string, byte[]>? readProfile, string what)
    {
        if (privileged)
            return null;
        profile ??= FromPath(deprecatedPath, what);
        if (profile is null)
            return null;
        if (profile.ProfileType != SecurityProfile.Types.ProfileType.Localhost && profile.LocalhostRef.Length > 0)
            throw new SpecException(StatusCode.InvalidArgument,
                $"{what}: seccomp localhost_ref \"{profile.LocalhostRef}\" is only allowed with profile_type Localhost, not {profile.ProfileType}");
        return profile.ProfileType switch
        {
            SecurityProfile.Types.ProfileType.Unconfined => null,
            SecurityProfile.Types.ProfileType.RuntimeDefault => DefaultSeccompProfile.Build(boundingCapabilities, architecture),
            SecurityProfile.Types.ProfileType.Localhost => Localhost(profile.LocalhostRef, readProfile, what),
            _ => throw new SpecException(StatusCode.InvalidArgument, $"{what}: unknown seccomp profile_type {(int)profile.ProfileType}"),
        };
    }

    private static SecurityProfile? FromPath(string? path, string what)
    {
        switch (path)
        {
            case null or "":
                return null;
            case "runtime/default" or "docker/default":
                return new SecurityProfile { ProfileType = SecurityProfile.Types.ProfileType.RuntimeDefault };
            case "unconfined":
                return new SecurityProfile { ProfileType = SecurityProfile.Types.ProfileType.Unconfined };
            default:
                if (!path.StartsWith(LocalhostPrefix, StringComparison.Ordinal))
                    throw new SpecException(StatusCode.InvalidArgument,
                        $"{what}: invalid seccomp_profile_path \"{path}\": want runtime/default, docker/default, unconfined or localhost/PATH");
                return new SecurityProfile
                {
                    ProfileType = SecurityProfile.Types.ProfileType.Localhost, LocalhostRef = path[LocalhostPrefix.Length..],
                };
        }
    }

    private static JsonObject Localhost(string reference, Func<string, byte[]>? readProfile, string what)
    {
        // The prefix is not expected in localhost_ref, but containerd trims it too.
        var path = reference.StartsWith(LocalhostPrefix, StringComparison.Ordinal) ? reference[LocalhostPrefix.Length..] : reference;
        if (path.Length == 0 || path[0] != '/')
            throw new SpecException(StatusCode.InvalidArgument, $"{what}: seccomp localhost profile \"{path}\" is not an absolute path");
        if (readProfile is null)
            throw new SpecException(StatusCode.InvalidArgument, $"{what}: seccomp localhost profiles are not supported here");
        byte[] bytes;
        try
        {
            bytes = readProfile(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new SpecException(StatusCode.NotFound, $"{what}: seccomp profile {path} does not exist", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SpecException(StatusCode.FailedPrecondition, $"{what}: cannot read seccomp profile {path}: {e.Message}", e);
        }
        try
        {
            return JsonNode.Parse(bytes) as JsonObject
                ?? throw new SpecException(StatusCode.InvalidArgument, $"{what}: seccomp profile {path} is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new SpecException(StatusCode.InvalidArgument, $"{what}: seccomp profile {path} is not valid JSON: {e.Message}", e);
        }
    }
}
