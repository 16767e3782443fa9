namespace Containerd.Daemon.Images.Distribution;

/// <summary>One blob's progress: <paramref name="Done"/> of <paramref name="Total"/> bytes.</summary>
public sealed record PullProgress(string Digest, string MediaType, long Done, long Total, PullPhase Phase);
