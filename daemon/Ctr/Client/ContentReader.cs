using Containerd.Api.Content;
using Grpc.Core;

namespace Containerd.Ctr.Client;

/// <summary>Reads whole (small) blobs through the Content API: manifests, indexes, configs.</summary>
public static class ContentReader
{
    public static async Task<byte[]> ReadAllAsync(DaemonClient client, string digest, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        using var call = client.Content.Read(new ReadContentRequest { Digest = digest }, cancellationToken: cancellationToken);
        await foreach (var chunk in call.ResponseStream.ReadAllAsync(cancellationToken))
            chunk.Data.WriteTo(buffer);
        return buffer.ToArray();
    }
}
