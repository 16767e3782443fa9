using System.Runtime.InteropServices;

namespace Containerd.Daemon.Images.Distribution;

/// <summary>
/// An <c>os/architecture[/variant]</c> platform and the matching rule containerd
/// uses to pick a manifest from an index: os and architecture equal, variant
/// equal after normalisation (arm64 without a variant is v8, arm is v7, amd64 is v1),
/// and no variant asked means any.
/// </summary>
public sealed record PlatformSpec(string Os, string Architecture, string? Variant)
{
    /// <summary>This machine's platform (the daemon runs on Linux).</summary>
    public static PlatformSpec Current { get; } = FromRuntime();

    /// <summary>Parses <c>linux/amd64</c>, <c>linux/arm64/v8</c>, <c>linux/arm/v7</c>; architecture aliases (x86_64, aarch64) are normalised.</summary>
    public static PlatformSpec Parse(string text)
    {
        var parts = text.Trim().ToLowerInvariant().Split('/');
        if (parts.Length is < 2 or > 3 || parts.Any(p => p.Length == 0))
            throw new RegistryException(RegistryErrorKind.InvalidReference, $"invalid platform \"{text}\": expected os/architecture[/variant], e.g. linux/amd64");
        var (architecture, variant) = NormalizeArchitecture(parts[1], parts.Length == 3 ? parts[2] : null);
        return new PlatformSpec(parts[0], architecture, variant);
    }

    public bool Matches(string? os, string? architecture, string? variant)
    {
        if (!string.Equals(os, Os, StringComparison.OrdinalIgnoreCase) || architecture is null)
            return false;
        var (arch, normalizedVariant) = NormalizeArchitecture(architecture.ToLowerInvariant(), variant?.ToLowerInvariant());
        if (arch != Architecture)
            return false;
        return Variant is null || DefaultVariant(arch, normalizedVariant) == DefaultVariant(Architecture, Variant);
    }

    public override string ToString() => Variant is null ? $"{Os}/{Architecture}" : $"{Os}/{Architecture}/{Variant}";

    private static (string Architecture, string? Variant) NormalizeArchitecture(string architecture, string? variant)
    {
        variant = string.IsNullOrEmpty(variant) ? null : variant;
        return architecture switch
        {
            "x86_64" or "x86-64" => ("amd64", variant),
            "aarch64" => ("arm64", variant),
            "armhf" => ("arm", variant ?? "v7"),
            "armel" => ("arm", variant ?? "v6"),
            "i386" or "i686" => ("386", variant),
            _ => (architecture, variant),
        };
    }

    // An image without a variant is built for the architecture's baseline.
    private static string DefaultVariant(string architecture, string? variant) => variant ?? architecture switch
    {
        "arm64" => "v8",
        "arm" => "v7",
        "amd64" => "v1",
        _ => "",
    };

    private static PlatformSpec FromRuntime() => RuntimeInformation.OSArchitecture switch
    {
        System.Runtime.InteropServices.Architecture.X64 => new("linux", "amd64", null),
        System.Runtime.InteropServices.Architecture.Arm64 => new("linux", "arm64", null),
        System.Runtime.InteropServices.Architecture.Arm or System.Runtime.InteropServices.Architecture.Armv6 => new("linux", "arm", RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.Armv6 ? "v6" : null),
        System.Runtime.InteropServices.Architecture.X86 => new("linux", "386", null),
        System.Runtime.InteropServices.Architecture.S390x => new("linux", "s390x", null),
        System.Runtime.InteropServices.Architecture.Ppc64le => new("linux", "ppc64le", null),
        System.Runtime.InteropServices.Architecture.RiscV64 => new("linux", "riscv64", null),
        System.Runtime.InteropServices.Architecture.LoongArch64 => new("linux", "loong64", null),
        var other => new("linux", other.ToString().ToLowerInvariant(), null),
    };
}
