using Containerd.Daemon.Content;

[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

// ContentWriter DIRECTORY: writes stdin into the content store at DIRECTORY, then prints the digest.
// The crash test kills it (SIGKILL) while it waits for more of stdin, mid-write.
if (args.Length != 1)
{
    await Console.Error.WriteLineAsync("usage: ContentWriter DIRECTORY");
    return 2;
}
var store = new ContentStore(args[0]);
await using var input = Console.OpenStandardInput();
var info = await store.WriteAsync(input, null, null, CancellationToken.None);
Console.WriteLine(info.Digest);
return 0;
