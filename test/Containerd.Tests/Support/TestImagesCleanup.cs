namespace Containerd.Tests;

/// <summary>
/// Stops the run's shared registries when the run ends. In the root namespace so NUnit runs its
/// teardown after every test of the assembly; it starts nothing (the images are built on first use).
/// </summary>
[SetUpFixture]
public sealed class TestImagesCleanup
{
    [OneTimeTearDown]
    public Task StopRegistriesAsync() => Support.TestImages.DisposeSharedAsync();
}
