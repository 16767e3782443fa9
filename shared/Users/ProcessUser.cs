namespace Containerd.Shared.Users;

/// <summary>
/// What goes into the OCI spec's process.user. <see cref="AdditionalGids"/>
/// starts with <see cref="Gid"/>, as containerd's ensureAdditionalGids makes it:
/// runc sets exactly these supplementary groups, and without the primary one a
/// process would lose access its own group grants.
/// </summary>
public sealed record ProcessUser(uint Uid, uint Gid, IReadOnlyList<uint> AdditionalGids);
