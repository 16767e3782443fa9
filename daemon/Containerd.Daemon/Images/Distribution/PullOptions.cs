namespace Containerd.Daemon.Images.Distribution;

/// <summary>
/// How to pull one image. <paramref name="Platform"/> is <c>os/arch[/variant]</c>
/// (e.g. <c>linux/arm64/v8</c>); null means this machine's. <paramref name="BeforeWrite"/>
/// hears the digests the puller is about to store, before it stores them (the pull's lease).
/// </summary>
public sealed record PullOptions(
    bool PlainHttp = false,
    RegistryCredentials? Credentials = null,
    IProgress<PullProgress>? Progress = null,
    string? Platform = null,
    int MaxConcurrentDownloads = 3,
    Func<IReadOnlyCollection<string>, CancellationToken, Task>? BeforeWrite = null);
