using Containerd.Api.Containers;
using Containerd.Daemon.Hosting;
using Google.Protobuf.WellKnownTypes;

namespace Containerd.Daemon.Containers;

/// <summary>Applies an Update request's field mask to a stored record.</summary>
public static class ContainerUpdate
{
    private const string LabelPrefix = "labels.";

    /// <summary>
    /// Copies the masked fields of <paramref name="incoming"/> onto a clone of
    /// <paramref name="existing"/>. An empty mask replaces every mutable field.
    /// </summary>
    public static Container Apply(Container existing, Container incoming, FieldMask? mask)
    {
        var updated = existing.Clone();
        if (mask is null || mask.Paths.Count == 0)
        {
            updated.Labels.Clear();
            updated.Labels.Add(incoming.Labels);
            updated.Image = incoming.Image;
            updated.Runtime = incoming.Runtime;
            updated.Spec = incoming.Spec;
            updated.Rootfs = incoming.Rootfs;
            return updated;
        }

        foreach (var path in mask.Paths)
        {
            switch (path)
            {
                case "labels":
                    updated.Labels.Clear();
                    updated.Labels.Add(incoming.Labels);
                    break;
                case "image":
                    updated.Image = incoming.Image;
                    break;
                case "runtime":
                    updated.Runtime = incoming.Runtime;
                    break;
                case "spec":
                    updated.Spec = incoming.Spec;
                    break;
                case "rootfs":
                    updated.Rootfs = incoming.Rootfs;
                    break;
                case "id" or "created_at" or "updated_at" or "createdAt" or "updatedAt":
                    throw RpcErrors.InvalidArgument($"update_mask: field \"{path}\" of container \"{existing.Id}\" cannot be updated");
                default:
                    if (path.StartsWith(LabelPrefix, StringComparison.Ordinal) && path.Length > LabelPrefix.Length)
                    {
                        var key = path[LabelPrefix.Length..];
                        // A masked label absent from the request is removed, as in containerd.
                        if (incoming.Labels.TryGetValue(key, out var value))
                            updated.Labels[key] = value;
                        else
                            updated.Labels.Remove(key);
                        break;
                    }
                    throw RpcErrors.InvalidArgument(
                        $"update_mask: unknown field \"{path}\" (use labels, labels.KEY, image, runtime, spec or rootfs)");
            }
        }
        return updated;
    }
}
