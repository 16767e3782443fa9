using System.Text.Json.Serialization;

namespace Containerd.Daemon.Images.Distribution;

/// <summary>Source-generated JSON for the registry's documents: no reflection, so Native AOT keeps working.</summary>
[JsonSourceGenerationOptions(ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip, AllowTrailingCommas = false)]
[JsonSerializable(typeof(ManifestDocumentJson))]
[JsonSerializable(typeof(ImageConfigJson))]
[JsonSerializable(typeof(RegistryTokenJson))]
[JsonSerializable(typeof(RegistryErrorsJson))]
internal sealed partial class DistributionJsonContext : JsonSerializerContext;
