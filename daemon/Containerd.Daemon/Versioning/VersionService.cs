using System.Reflection;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using VersionApi = Containerd.Api.Version;

namespace Containerd.Daemon.Versioning;

/// <summary>
/// The Version API. The SDK stamps the informational version as
/// <c>VERSION+GITCOMMIT</c> when it builds from a git checkout.
/// </summary>
public sealed class VersionService : VersionApi.Version.VersionBase
{
    private readonly VersionApi.VersionResponse _response;

    public VersionService()
    {
        var informational = typeof(VersionService).Assembly
            .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
        var plus = informational.IndexOf('+');
        _response = new VersionApi.VersionResponse
        {
            Version = plus < 0 ? informational : informational[..plus],
            Revision = plus < 0 || plus == informational.Length - 1 ? "unknown" : informational[(plus + 1)..],
        };
    }

    public override Task<VersionApi.VersionResponse> Version(Empty request, ServerCallContext context) =>
        Task.FromResult(_response);
}
