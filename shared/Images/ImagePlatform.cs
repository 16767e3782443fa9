using System.Runtime.InteropServices;
using CpuArchitecture = System.Runtime.InteropServices.Architecture;

namespace Containerd.Shared.Images;

/// <summary>An OCI platform (os/architecture[/variant]) and how an index entry is matched to it.</summary>
public sealed record ImagePlatform(string Os, string Architecture, string Variant)
{
    /// <summary>This machine's, in OCI's (Go's) architecture names.</summary>
    public static ImagePlatform Current { get; } = new("linux", RuntimeInformation.OSArchitecture switch
    {
        CpuArchitecture.X64 => "amd64",
        CpuArchitecture.Arm64 => "arm64",
        CpuArchitecture.Arm => "arm",
        CpuArchitecture.X86 => "386",
        CpuArchitecture.S390x => "s390x",
        CpuArchitecture.Ppc64le => "ppc64le",
        CpuArchitecture.RiscV64 => "riscv64",
        var other => other.ToString().ToLowerInvariant(),
    }, "");

    /// <summary><c>os/arch[/variant]</c>; null or empty is <see cref="Current"/>.</summary>
    public static ImagePlatform Parse(string? text)
    {
        if (string.IsNullOrEmpty(text))
            return Current;
        var parts = text.Split('/');
        if (parts.Length is < 2 or > 3 || parts.Any(p => p.Length == 0))
            throw new FormatException($"platform \"{text}\" is not os/architecture[/variant]");
        return new ImagePlatform(parts[0], parts[1], parts.Length == 3 ? parts[2] : "");
    }

    /// <summary>
    /// Same os and architecture; a variant only decides when both name one
    /// (arm64 images rarely say v8, and an index usually has one per architecture).
    /// </summary>
    public bool Matches(string os, string architecture, string variant) =>
        os == Os && architecture == Architecture && (Variant.Length == 0 || variant.Length == 0 || variant == Variant);

    public override string ToString() => Variant.Length == 0 ? $"{Os}/{Architecture}" : $"{Os}/{Architecture}/{Variant}";
}
