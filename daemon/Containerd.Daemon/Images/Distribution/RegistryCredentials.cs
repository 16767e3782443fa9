namespace Containerd.Daemon.Images.Distribution;

/// <summary>A registry user name and password (or token as password), sent as basic auth to the registry or its token realm.</summary>
public sealed record RegistryCredentials(string Username, string Password)
{
    // Never print the password (records print every member by default).
    public override string ToString() => $"RegistryCredentials {{ Username = {Username} }}";
}
