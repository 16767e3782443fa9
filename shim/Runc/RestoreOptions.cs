namespace Containerd.Shim.Runc;

/// <summary>One <c>runc restore --detach</c> of a container's init from an unpacked CRIU image.</summary>
/// <param name="Bundle">--bundle: the task's bundle (config.json, rootfs).</param>
/// <param name="ImagePath">--image-path: the unpacked image.</param>
/// <param name="WorkPath">--work-path: CRIU's log (restore.log), read when it fails.</param>
/// <param name="PidFile">--pid-file: where runc writes the restored init's pid.</param>
internal sealed record RestoreOptions(string Bundle, string ImagePath, string WorkPath, string PidFile);
