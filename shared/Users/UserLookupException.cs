namespace Containerd.Shared.Users;

/// <summary>A user string that is malformed, or names a user or group the image does not have.</summary>
public sealed class UserLookupException(string message) : Exception(message);
