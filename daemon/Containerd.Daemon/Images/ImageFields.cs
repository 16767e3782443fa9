using Containerd.Daemon.Filters;
using ImagesApi = Containerd.Api.Images;

namespace Containerd.Daemon.Images;

/// <summary>The fields an image filter can name (containerd's image adaptor, without the times).</summary>
public static class ImageFields
{
    public const string Names = "name, target.digest, target.mediatype or labels.KEY";

    public static bool IsKnown(IReadOnlyList<string> path) => path switch
    {
        ["name"] => true,
        ["target", "digest" or "mediatype"] => true,
        ["labels", _, ..] => true,
        _ => false,
    };

    public static FieldAdaptor Of(ImagesApi.Image image) => path => path switch
    {
        ["name"] => FieldValues.Scalar(image.Name),
        ["target", "digest"] => FieldValues.Scalar(image.Target?.Digest),
        ["target", "mediatype"] => FieldValues.Scalar(image.Target?.MediaType),
        ["labels", _, ..] => FieldValues.Label(image.Labels, path.Skip(1)),
        _ => ("", false),
    };
}
