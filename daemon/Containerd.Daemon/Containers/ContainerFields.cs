using Containerd.Api.Containers;
using Containerd.Daemon.Filters;

namespace Containerd.Daemon.Containers;

/// <summary>The fields a container filter can name (containerd's container adaptor, with this API's string runtime and rootfs).</summary>
public static class ContainerFields
{
    public const string Names = "id, image, runtime, rootfs or labels.KEY";

    public static bool IsKnown(IReadOnlyList<string> path) => path switch
    {
        ["id" or "image" or "runtime" or "rootfs"] => true,
        ["labels", _, ..] => true,
        _ => false,
    };

    public static FieldAdaptor Of(Container container) => path => path switch
    {
        ["id"] => FieldValues.Scalar(container.Id),
        ["image"] => FieldValues.Scalar(container.Image),
        ["runtime"] => FieldValues.Scalar(container.Runtime),
        ["rootfs"] => FieldValues.Scalar(container.Rootfs),
        ["labels", _, ..] => FieldValues.Label(container.Labels, path.Skip(1)),
        _ => ("", false),
    };
}
