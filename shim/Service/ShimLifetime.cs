using Microsoft.Extensions.Hosting;

namespace Containerd.Shim.Service;

/// <summary>Stops the shim after the Shutdown reply has been sent.</summary>
internal sealed class ShimLifetime(IHostApplicationLifetime host)
{
    // Long enough for the reply to leave; Kestrel's graceful stop waits for it anyway.
    private static readonly TimeSpan ReplyGrace = TimeSpan.FromMilliseconds(50);

    public CancellationToken Stopping => host.ApplicationStopping;

    public void StopSoon() => _ = StopAsync();

    private async Task StopAsync()
    {
        await Task.Delay(ReplyGrace).ConfigureAwait(false);
        host.StopApplication();
    }
}
