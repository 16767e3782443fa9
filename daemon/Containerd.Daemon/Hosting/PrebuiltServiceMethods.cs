using System.Diagnostics.CodeAnalysis;
using Grpc.AspNetCore.Server;
using Grpc.AspNetCore.Server.Model;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using HealthApi = Grpc.Health.V1;
using ReflectionV1 = Grpc.Reflection.V1;
using ReflectionV1Alpha = Grpc.Reflection.V1Alpha;

namespace Containerd.Daemon.Hosting;

/// <summary>
/// Lists each gRPC service's methods for Grpc.AspNetCore in place of its default
/// provider, which finds the generated <c>BindService</c> by reflection and binds
/// every method through a generic virtual call Native AOT cannot see ahead: the
/// run-time type loader then built each method's generic code at start-up, more
/// than half of the daemon's start-up CPU. The daemon's own services
/// (Tasks, Containers, Version, Content, Images, Pull, and the CRI's RuntimeService and ImageService) are listed method by method with their types
/// spelled out, so the compiler builds all of it ahead; the per-call service
/// instance is called, as before. Health and reflection, whose service types are
/// internal to their packages, are bound through their generated <c>BindService</c>
/// to one instance made by their activator at the first call (both keep their
/// state in singletons).
/// </summary>
internal static class PrebuiltServiceMethods
{
    /// <summary>What Grpc.AspNetCore requires of a service type (its GrpcProtocolConstants.ServiceAccessibility).</summary>
    private const DynamicallyAccessedMemberTypes ServiceAccessibility =
        DynamicallyAccessedMemberTypes.PublicConstructors | DynamicallyAccessedMemberTypes.PublicMethods | DynamicallyAccessedMemberTypes.NonPublicMethods;

    /// <summary>What the reflection service reads of a generated service class and its base.</summary>
    private const DynamicallyAccessedMemberTypes DescriptorLookup =
        DynamicallyAccessedMemberTypes.PublicProperties | DynamicallyAccessedMemberTypes.PublicMethods | DynamicallyAccessedMemberTypes.NonPublicMethods;

    private static readonly Type[] Prebuilt =
        [typeof(Tasks.TasksService), typeof(Containers.ContainersService), typeof(Versioning.VersionService), typeof(Content.ContentService),
         typeof(Images.ImagesService), typeof(Images.PullService), typeof(Cri.CriRuntimeService), typeof(Cri.CriImageService)];

    /// <summary>Replaces the reflection-based method provider; call after AddGrpc.</summary>
    /// <remarks>
    /// The reflection service still finds each service's descriptor by reflection (the
    /// <c>BindServiceMethod</c> attribute of its base, then the generated class's static
    /// <c>Descriptor</c>); the default provider's annotations used to keep those for it.
    /// </remarks>
    [DynamicDependency(DescriptorLookup, typeof(global::Containerd.Api.Execution.Tasks))]
    [DynamicDependency(DescriptorLookup, typeof(global::Containerd.Api.Execution.Tasks.TasksBase))]
    [DynamicDependency(DescriptorLookup, typeof(global::Containerd.Api.Containers.Containers))]
    [DynamicDependency(DescriptorLookup, typeof(global::Containerd.Api.Containers.Containers.ContainersBase))]
    [DynamicDependency(DescriptorLookup, typeof(global::Containerd.Api.Version.Version))]
    [DynamicDependency(DescriptorLookup, typeof(global::Containerd.Api.Version.Version.VersionBase))]
    [DynamicDependency(DescriptorLookup, typeof(global::Containerd.Api.Content.Content))]
    [DynamicDependency(DescriptorLookup, typeof(global::Containerd.Api.Content.Content.ContentBase))]
    [DynamicDependency(DescriptorLookup, typeof(global::Containerd.Api.Images.Images))]
    [DynamicDependency(DescriptorLookup, typeof(global::Containerd.Api.Images.Images.ImagesBase))]
    [DynamicDependency(DescriptorLookup, typeof(global::Containerd.Api.Images.Pull))]
    [DynamicDependency(DescriptorLookup, typeof(global::Containerd.Api.Images.Pull.PullBase))]
    [DynamicDependency(DescriptorLookup, typeof(global::Runtime.V1.RuntimeService))]
    [DynamicDependency(DescriptorLookup, typeof(global::Runtime.V1.RuntimeService.RuntimeServiceBase))]
    [DynamicDependency(DescriptorLookup, typeof(global::Runtime.V1.ImageService))]
    [DynamicDependency(DescriptorLookup, typeof(global::Runtime.V1.ImageService.ImageServiceBase))]
    public static void Register(IServiceCollection services)
    {
        services.RemoveAll(typeof(IServiceMethodProvider<>));
        services.AddSingleton<IServiceMethodProvider<Tasks.TasksService>, TasksMethods>();
        services.AddSingleton<IServiceMethodProvider<Containers.ContainersService>, ContainersMethods>();
        services.AddSingleton<IServiceMethodProvider<Versioning.VersionService>, VersionMethods>();
        services.AddSingleton<IServiceMethodProvider<Content.ContentService>, ContentMethods>();
        services.AddSingleton<IServiceMethodProvider<Images.ImagesService>, ImagesMethods>();
        services.AddSingleton<IServiceMethodProvider<Images.PullService>, PullMethods>();
        services.AddSingleton<IServiceMethodProvider<Cri.CriRuntimeService>, CriRuntimeMethods>();
        services.AddSingleton<IServiceMethodProvider<Cri.CriImageService>, CriImageMethods>();
        // Health and reflection (types internal to their packages) through the open generic.
        services.AddSingleton(typeof(IServiceMethodProvider<>), typeof(Provider<>));
    }

    private static void Unary<[DynamicallyAccessedMembers(ServiceAccessibility)] TService, TRequest, TResponse>(
        ServiceMethodProviderContext<TService> context, string service, string name,
        MessageParser<TRequest> request, MessageParser<TResponse> response, UnaryServerMethod<TService, TRequest, TResponse> invoker)
        where TService : class where TRequest : class, IMessage<TRequest> where TResponse : class, IMessage<TResponse> =>
        context.AddUnaryMethod(
            new Method<TRequest, TResponse>(MethodType.Unary, service, name, MarshallerOf(request), MarshallerOf(response)),
            NewMetadata(), invoker);

    private static void ServerStreaming<[DynamicallyAccessedMembers(ServiceAccessibility)] TService, TRequest, TResponse>(
        ServiceMethodProviderContext<TService> context, string service, string name,
        MessageParser<TRequest> request, MessageParser<TResponse> response, ServerStreamingServerMethod<TService, TRequest, TResponse> invoker)
        where TService : class where TRequest : class, IMessage<TRequest> where TResponse : class, IMessage<TResponse> =>
        context.AddServerStreamingMethod(
            new Method<TRequest, TResponse>(MethodType.ServerStreaming, service, name, MarshallerOf(request), MarshallerOf(response)),
            NewMetadata(), invoker);

    /// <summary>A list of its own for each method: Grpc.AspNetCore adds the method's endpoint metadata to it.</summary>
    private static List<object> NewMetadata() => [];

    /// <summary>As the generated code marshals: straight into and out of the transport's buffers.</summary>
    private static Marshaller<T> MarshallerOf<T>(MessageParser<T> parser) where T : class, IMessage<T> =>
        Marshallers.Create<T>(
            (message, context) =>
            {
                context.SetPayloadLength(message.CalculateSize());
                message.WriteTo(context.GetBufferWriter());
                context.Complete();
            },
            context => parser.ParseFrom(context.PayloadAsReadOnlySequence()));

    /// <summary>containerd.v1.services.execution.Tasks, method by method.</summary>
    private sealed class TasksMethods : IServiceMethodProvider<Tasks.TasksService>
    {
        private const string Service = "containerd.v1.services.execution.Tasks";

        public void OnServiceMethodDiscovery(ServiceMethodProviderContext<Tasks.TasksService> context)
        {
            Unary<Tasks.TasksService, global::Containerd.Api.Execution.CreateRequest, global::Containerd.Api.Execution.CreateResponse>(context, Service, "Create", global::Containerd.Api.Execution.CreateRequest.Parser, global::Containerd.Api.Execution.CreateResponse.Parser, (s, r, c) => s.Create(r, c));
            Unary<Tasks.TasksService, global::Containerd.Api.Execution.StartRequest, global::Google.Protobuf.WellKnownTypes.Empty>(context, Service, "Start", global::Containerd.Api.Execution.StartRequest.Parser, global::Google.Protobuf.WellKnownTypes.Empty.Parser, (s, r, c) => s.Start(r, c));
            Unary<Tasks.TasksService, global::Containerd.Api.Execution.DeleteRequest, global::Containerd.Api.Execution.DeleteResponse>(context, Service, "Delete", global::Containerd.Api.Execution.DeleteRequest.Parser, global::Containerd.Api.Execution.DeleteResponse.Parser, (s, r, c) => s.Delete(r, c));
            Unary<Tasks.TasksService, global::Containerd.Api.Execution.DeleteProcessRequest, global::Containerd.Api.Execution.DeleteResponse>(context, Service, "DeleteProcess", global::Containerd.Api.Execution.DeleteProcessRequest.Parser, global::Containerd.Api.Execution.DeleteResponse.Parser, (s, r, c) => s.DeleteProcess(r, c));
            Unary<Tasks.TasksService, global::Containerd.Api.Execution.InfoRequest, global::Containerd.Api.Execution.InfoResponse>(context, Service, "Info", global::Containerd.Api.Execution.InfoRequest.Parser, global::Containerd.Api.Execution.InfoResponse.Parser, (s, r, c) => s.Info(r, c));
            Unary<Tasks.TasksService, global::Containerd.Api.Execution.ListRequest, global::Containerd.Api.Execution.ListResponse>(context, Service, "List", global::Containerd.Api.Execution.ListRequest.Parser, global::Containerd.Api.Execution.ListResponse.Parser, (s, r, c) => s.List(r, c));
            Unary<Tasks.TasksService, global::Containerd.Api.Execution.KillRequest, global::Google.Protobuf.WellKnownTypes.Empty>(context, Service, "Kill", global::Containerd.Api.Execution.KillRequest.Parser, global::Google.Protobuf.WellKnownTypes.Empty.Parser, (s, r, c) => s.Kill(r, c));
            ServerStreaming<Tasks.TasksService, global::Containerd.Api.Execution.EventsRequest, global::Containerd.Api.Types.Event>(context, Service, "Events", global::Containerd.Api.Execution.EventsRequest.Parser, global::Containerd.Api.Types.Event.Parser, (s, r, w, c) => s.Events(r, w, c));
            Unary<Tasks.TasksService, global::Containerd.Api.Execution.ExecRequest, global::Containerd.Api.Execution.ExecResponse>(context, Service, "Exec", global::Containerd.Api.Execution.ExecRequest.Parser, global::Containerd.Api.Execution.ExecResponse.Parser, (s, r, c) => s.Exec(r, c));
            Unary<Tasks.TasksService, global::Containerd.Api.Execution.PtyRequest, global::Google.Protobuf.WellKnownTypes.Empty>(context, Service, "Pty", global::Containerd.Api.Execution.PtyRequest.Parser, global::Google.Protobuf.WellKnownTypes.Empty.Parser, (s, r, c) => s.Pty(r, c));
            Unary<Tasks.TasksService, global::Containerd.Api.Execution.CloseStdinRequest, global::Google.Protobuf.WellKnownTypes.Empty>(context, Service, "CloseStdin", global::Containerd.Api.Execution.CloseStdinRequest.Parser, global::Google.Protobuf.WellKnownTypes.Empty.Parser, (s, r, c) => s.CloseStdin(r, c));
            Unary<Tasks.TasksService, global::Containerd.Api.Execution.PauseRequest, global::Google.Protobuf.WellKnownTypes.Empty>(context, Service, "Pause", global::Containerd.Api.Execution.PauseRequest.Parser, global::Google.Protobuf.WellKnownTypes.Empty.Parser, (s, r, c) => s.Pause(r, c));
            Unary<Tasks.TasksService, global::Containerd.Api.Execution.ResumeRequest, global::Google.Protobuf.WellKnownTypes.Empty>(context, Service, "Resume", global::Containerd.Api.Execution.ResumeRequest.Parser, global::Google.Protobuf.WellKnownTypes.Empty.Parser, (s, r, c) => s.Resume(r, c));
            Unary<Tasks.TasksService, global::Containerd.Api.Execution.ProcessesRequest, global::Containerd.Api.Execution.ProcessesResponse>(context, Service, "Processes", global::Containerd.Api.Execution.ProcessesRequest.Parser, global::Containerd.Api.Execution.ProcessesResponse.Parser, (s, r, c) => s.Processes(r, c));
            Unary<Tasks.TasksService, global::Containerd.Api.Execution.CheckpointRequest, global::Containerd.Api.Execution.CheckpointResponse>(context, Service, "Checkpoint", global::Containerd.Api.Execution.CheckpointRequest.Parser, global::Containerd.Api.Execution.CheckpointResponse.Parser, (s, r, c) => s.Checkpoint(r, c));
        }
    }

    /// <summary>containerd.v1.Containers, method by method.</summary>
    private sealed class ContainersMethods : IServiceMethodProvider<Containers.ContainersService>
    {
        private const string Service = "containerd.v1.Containers";

        public void OnServiceMethodDiscovery(ServiceMethodProviderContext<Containers.ContainersService> context)
        {
            Unary<Containers.ContainersService, global::Containerd.Api.Containers.GetContainerRequest, global::Containerd.Api.Containers.GetContainerResponse>(context, Service, "Get", global::Containerd.Api.Containers.GetContainerRequest.Parser, global::Containerd.Api.Containers.GetContainerResponse.Parser, (s, r, c) => s.Get(r, c));
            Unary<Containers.ContainersService, global::Containerd.Api.Containers.ListContainersRequest, global::Containerd.Api.Containers.ListContainersResponse>(context, Service, "List", global::Containerd.Api.Containers.ListContainersRequest.Parser, global::Containerd.Api.Containers.ListContainersResponse.Parser, (s, r, c) => s.List(r, c));
            Unary<Containers.ContainersService, global::Containerd.Api.Containers.CreateContainerRequest, global::Containerd.Api.Containers.CreateContainerResponse>(context, Service, "Create", global::Containerd.Api.Containers.CreateContainerRequest.Parser, global::Containerd.Api.Containers.CreateContainerResponse.Parser, (s, r, c) => s.Create(r, c));
            Unary<Containers.ContainersService, global::Containerd.Api.Containers.UpdateContainerRequest, global::Containerd.Api.Containers.UpdateContainerResponse>(context, Service, "Update", global::Containerd.Api.Containers.UpdateContainerRequest.Parser, global::Containerd.Api.Containers.UpdateContainerResponse.Parser, (s, r, c) => s.Update(r, c));
            Unary<Containers.ContainersService, global::Containerd.Api.Containers.DeleteContainerRequest, global::Google.Protobuf.WellKnownTypes.Empty>(context, Service, "Delete", global::Containerd.Api.Containers.DeleteContainerRequest.Parser, global::Google.Protobuf.WellKnownTypes.Empty.Parser, (s, r, c) => s.Delete(r, c));
        }
    }

    /// <summary>containerd.v1.Version, method by method.</summary>
    private sealed class VersionMethods : IServiceMethodProvider<Versioning.VersionService>
    {
        private const string Service = "containerd.v1.Version";

        public void OnServiceMethodDiscovery(ServiceMethodProviderContext<Versioning.VersionService> context)
        {
            Unary<Versioning.VersionService, global::Google.Protobuf.WellKnownTypes.Empty, global::Containerd.Api.Version.VersionResponse>(context, Service, "Version", global::Google.Protobuf.WellKnownTypes.Empty.Parser, global::Containerd.Api.Version.VersionResponse.Parser, (s, r, c) => s.Version(r, c));
        }
    }

    /// <summary>containerd.services.images.v1.Images, method by method.</summary>
    private sealed class ImagesMethods : IServiceMethodProvider<Images.ImagesService>
    {
        private const string Service = "containerd.services.images.v1.Images";

        public void OnServiceMethodDiscovery(ServiceMethodProviderContext<Images.ImagesService> context)
        {
            Unary<Images.ImagesService, global::Containerd.Api.Images.GetImageRequest, global::Containerd.Api.Images.GetImageResponse>(context, Service, "Get", global::Containerd.Api.Images.GetImageRequest.Parser, global::Containerd.Api.Images.GetImageResponse.Parser, (s, r, c) => s.Get(r, c));
            Unary<Images.ImagesService, global::Containerd.Api.Images.ListImagesRequest, global::Containerd.Api.Images.ListImagesResponse>(context, Service, "List", global::Containerd.Api.Images.ListImagesRequest.Parser, global::Containerd.Api.Images.ListImagesResponse.Parser, (s, r, c) => s.List(r, c));
            Unary<Images.ImagesService, global::Containerd.Api.Images.CreateImageRequest, global::Containerd.Api.Images.CreateImageResponse>(context, Service, "Create", global::Containerd.Api.Images.CreateImageRequest.Parser, global::Containerd.Api.Images.CreateImageResponse.Parser, (s, r, c) => s.Create(r, c));
            Unary<Images.ImagesService, global::Containerd.Api.Images.UpdateImageRequest, global::Containerd.Api.Images.UpdateImageResponse>(context, Service, "Update", global::Containerd.Api.Images.UpdateImageRequest.Parser, global::Containerd.Api.Images.UpdateImageResponse.Parser, (s, r, c) => s.Update(r, c));
            Unary<Images.ImagesService, global::Containerd.Api.Images.DeleteImageRequest, global::Google.Protobuf.WellKnownTypes.Empty>(context, Service, "Delete", global::Containerd.Api.Images.DeleteImageRequest.Parser, global::Google.Protobuf.WellKnownTypes.Empty.Parser, (s, r, c) => s.Delete(r, c));
        }
    }

    /// <summary>containerd.services.images.v1.Pull (this daemon's own), method by method.</summary>
    private sealed class PullMethods : IServiceMethodProvider<Images.PullService>
    {
        private const string Service = "containerd.services.images.v1.Pull";

        public void OnServiceMethodDiscovery(ServiceMethodProviderContext<Images.PullService> context)
        {
            ServerStreaming<Images.PullService, global::Containerd.Api.Images.PullRequest, global::Containerd.Api.Images.PullProgress>(context, Service, "Pull", global::Containerd.Api.Images.PullRequest.Parser, global::Containerd.Api.Images.PullProgress.Parser, (s, r, w, c) => s.Pull(r, w, c));
        }
    }

    /// <summary>containerd.services.content.v1.Content, method by method.</summary>
    private sealed class ContentMethods : IServiceMethodProvider<Content.ContentService>
    {
        private const string Service = "containerd.services.content.v1.Content";

        public void OnServiceMethodDiscovery(ServiceMethodProviderContext<Content.ContentService> context)
        {
            Unary<Content.ContentService, global::Containerd.Api.Content.InfoRequest, global::Containerd.Api.Content.InfoResponse>(context, Service, "Info", global::Containerd.Api.Content.InfoRequest.Parser, global::Containerd.Api.Content.InfoResponse.Parser, (s, r, c) => s.Info(r, c));
            ServerStreaming<Content.ContentService, global::Containerd.Api.Content.ListContentRequest, global::Containerd.Api.Content.ListContentResponse>(context, Service, "List", global::Containerd.Api.Content.ListContentRequest.Parser, global::Containerd.Api.Content.ListContentResponse.Parser, (s, r, w, c) => s.List(r, w, c));
            Unary<Content.ContentService, global::Containerd.Api.Content.DeleteContentRequest, global::Google.Protobuf.WellKnownTypes.Empty>(context, Service, "Delete", global::Containerd.Api.Content.DeleteContentRequest.Parser, global::Google.Protobuf.WellKnownTypes.Empty.Parser, (s, r, c) => s.Delete(r, c));
            ServerStreaming<Content.ContentService, global::Containerd.Api.Content.ReadContentRequest, global::Containerd.Api.Content.ReadContentResponse>(context, Service, "Read", global::Containerd.Api.Content.ReadContentRequest.Parser, global::Containerd.Api.Content.ReadContentResponse.Parser, (s, r, w, c) => s.Read(r, w, c));
        }
    }

    /// <summary>runtime.v1.RuntimeService (the kubelet's CRI), method by method.</summary>
    private sealed class CriRuntimeMethods : IServiceMethodProvider<Cri.CriRuntimeService>
    {
        private const string Service = "runtime.v1.RuntimeService";

        public void OnServiceMethodDiscovery(ServiceMethodProviderContext<Cri.CriRuntimeService> context)
        {
            Unary<Cri.CriRuntimeService, global::Runtime.V1.VersionRequest, global::Runtime.V1.VersionResponse>(context, Service, "Version", global::Runtime.V1.VersionRequest.Parser, global::Runtime.V1.VersionResponse.Parser, (s, r, c) => s.Version(r, c));
            Unary<Cri.CriRuntimeService, global::Runtime.V1.RunPodSandboxRequest, global::Runtime.V1.RunPodSandboxResponse>(context, Service, "RunPodSandbox", global::Runtime.V1.RunPodSandboxRequest.Parser, global::Runtime.V1.RunPodSandboxResponse.Parser, (s, r, c) => s.RunPodSandbox(r, c));
            Unary<Cri.CriRuntimeService, global::Runtime.V1.StopPodSandboxRequest, global::Runtime.V1.StopPodSandboxResponse>(context, Service, "StopPodSandbox", global::Runtime.V1.StopPodSandboxRequest.Parser, global::Runtime.V1.StopPodSandboxResponse.Parser, (s, r, c) => s.StopPodSandbox(r, c));
            Unary<Cri.CriRuntimeService, global::Runtime.V1.RemovePodSandboxRequest, global::Runtime.V1.RemovePodSandboxResponse>(context, Service, "RemovePodSandbox", global::Runtime.V1.RemovePodSandboxRequest.Parser, global::Runtime.V1.RemovePodSandboxResponse.Parser, (s, r, c) => s.RemovePodSandbox(r, c));
            Unary<Cri.CriRuntimeService, global::Runtime.V1.PodSandboxStatusRequest, global::Runtime.V1.PodSandboxStatusResponse>(context, Service, "PodSandboxStatus", global::Runtime.V1.PodSandboxStatusRequest.Parser, global::Runtime.V1.PodSandboxStatusResponse.Parser, (s, r, c) => s.PodSandboxStatus(r, c));
            Unary<Cri.CriRuntimeService, global::Runtime.V1.ListPodSandboxRequest, global::Runtime.V1.ListPodSandboxResponse>(context, Service, "ListPodSandbox", global::Runtime.V1.ListPodSandboxRequest.Parser, global::Runtime.V1.ListPodSandboxResponse.Parser, (s, r, c) => s.ListPodSandbox(r, c));
            ServerStreaming<Cri.CriRuntimeService, global::Runtime.V1.StreamPodSandboxesRequest, global::Runtime.V1.StreamPodSandboxesResponse>(context, Service, "StreamPodSandboxes", global::Runtime.V1.StreamPodSandboxesRequest.Parser, global::Runtime.V1.StreamPodSandboxesResponse.Parser, (s, r, w, c) => s.StreamPodSandboxes(r, w, c));
            Unary<Cri.CriRuntimeService, global::Runtime.V1.CreateContainerRequest, global::Runtime.V1.CreateContainerResponse>(context, Service, "CreateContainer", global::Runtime.V1.CreateContainerRequest.Parser, global::Runtime.V1.CreateContainerResponse.Parser, (s, r, c) => s.CreateContainer(r, c));
            Unary<Cri.CriRuntimeService, global::Runtime.V1.StartContainerRequest, global::Runtime.V1.StartContainerResponse>(context, Service, "StartContainer", global::Runtime.V1.StartContainerRequest.Parser, global::Runtime.V1.StartContainerResponse.Parser, (s, r, c) => s.StartContainer(r, c));
            Unary<Cri.CriRuntimeService, global::Runtime.V1.StopContainerRequest, global::Runtime.V1.StopContainerResponse>(context, Service, "StopContainer", global::Runtime.V1.StopContainerRequest.Parser, global::Runtime.V1.StopContainerResponse.Parser, (s, r, c) => s.StopContainer(r, c));
            Unary<Cri.CriRuntimeService, global::Runtime.V1.RemoveContainerRequest, global::Runtime.V1.RemoveContainerResponse>(context, Service, "RemoveContainer", global::Runtime.V1.RemoveContainerRequest.Parser, global::Runtime.V1.RemoveContainerResponse.Parser, (s, r, c) => s.RemoveContainer(r, c));
            Unary<Cri.CriRuntimeService, global::Runtime.V1.ListContainersRequest, global::Runtime.V1.ListContainersResponse>(context, Service, "ListContainers", global::Runtime.V1.ListContainersRequest.Parser, global::Runtime.V1.ListContainersResponse.Parser, (s, r, c) => s.ListContainers(r, c));
            ServerStreaming<Cri.CriRuntimeService, global::Runtime.V1.StreamContainersRequest, global::Runtime.V1.StreamContainersResponse>(context, Service, "StreamContainers", global::Runtime.V1.StreamContainersRequest.Parser, global::Runtime.V1.StreamContainersResponse.Parser, (s, r, w, c) => s.StreamContainers(r, w, c));
            Unary<Cri.CriRuntimeService, global::Runtime.V1.ContainerStatusRequest, global::Runtime.V1.ContainerStatusResponse>(context, Service, "ContainerStatus", global::Runtime.V1.ContainerStatusRequest.Parser, global::Runtime.V1.ContainerStatusResponse.Parser, (s, r, c) => s.ContainerStatus(r, c));
            Unary<Cri.CriRuntimeService, global::Runtime.V1.UpdateContainerResourcesRequest, global::Runtime.V1.UpdateContainerResourcesResponse>(context, Service, "UpdateContainerResources", global::Runtime.V1.UpdateContainerResourcesRequest.Parser, global::Runtime.V1.UpdateContainerResourcesResponse.Parser, (s, r, c) => s.UpdateContainerResources(r, c));
            Unary<Cri.CriRuntimeService, global::Runtime.V1.ReopenContainerLogRequest, global::Runtime.V1.ReopenContainerLogResponse>(context, Service, "ReopenContainerLog", global::Runtime.V1.ReopenContainerLogRequest.Parser, global::Runtime.V1.ReopenContainerLogResponse.Parser, (s, r, c) => s.ReopenContainerLog(r, c));
            Unary<Cri.CriRuntimeService, global::Runtime.V1.ExecSyncRequest, global::Runtime.V1.ExecSyncResponse>(context, Service, "ExecSync", global::Runtime.V1.ExecSyncRequest.Parser, global::Runtime.V1.ExecSyncResponse.Parser, (s, r, c) => s.ExecSync(r, c));
            Unary<Cri.CriRuntimeService, global::Runtime.V1.ExecRequest, global::Runtime.V1.ExecResponse>(context, Service, "Exec", global::Runtime.V1.ExecRequest.Parser, global::Runtime.V1.ExecResponse.Parser, (s, r, c) => s.Exec(r, c));
            Unary<Cri.CriRuntimeService, global::Runtime.V1.AttachRequest, global::Runtime.V1.AttachResponse>(context, Service, "Attach", global::Runtime.V1.AttachRequest.Parser, global::Runtime.V1.AttachResponse.Parser, (s, r, c) => s.Attach(r, c));
            Unary<Cri.CriRuntimeService, global::Runtime.V1.PortForwardRequest, global::Runtime.V1.PortForwardResponse>(context, Service, "PortForward", global::Runtime.V1.PortForwardRequest.Parser, global::Runtime.V1.PortForwardResponse.Parser, (s, r, c) => s.PortForward(r, c));
            Unary<Cri.CriRuntimeService, global::Runtime.V1.ContainerStatsRequest, global::Runtime.V1.ContainerStatsResponse>(context, Service, "ContainerStats", global::Runtime.V1.ContainerStatsRequest.Parser, global::Runtime.V1.ContainerStatsResponse.Parser, (s, r, c) => s.ContainerStats(r, c));
            Unary<Cri.CriRuntimeService, global::Runtime.V1.ListContainerStatsRequest, global::Runtime.V1.ListContainerStatsResponse>(context, Service, "ListContainerStats", global::Runtime.V1.ListContainerStatsRequest.Parser, global::Runtime.V1.ListContainerStatsResponse.Parser, (s, r, c) => s.ListContainerStats(r, c));
            ServerStreaming<Cri.CriRuntimeService, global::Runtime.V1.StreamContainerStatsRequest, global::Runtime.V1.StreamContainerStatsResponse>(context, Service, "StreamContainerStats", global::Runtime.V1.StreamContainerStatsRequest.Parser, global::Runtime.V1.StreamContainerStatsResponse.Parser, (s, r, w, c) => s.StreamContainerStats(r, w, c));
            Unary<Cri.CriRuntimeService, global::Runtime.V1.PodSandboxStatsRequest, global::Runtime.V1.PodSandboxStatsResponse>(context, Service, "PodSandboxStats", global::Runtime.V1.PodSandboxStatsRequest.Parser, global::Runtime.V1.PodSandboxStatsResponse.Parser, (s, r, c) => s.PodSandboxStats(r, c));
            Unary<Cri.CriRuntimeService, global::Runtime.V1.ListPodSandboxStatsRequest, global::Runtime.V1.ListPodSandboxStatsResponse>(context, Service, "ListPodSandboxStats", global::Runtime.V1.ListPodSandboxStatsRequest.Parser, global::Runtime.V1.ListPodSandboxStatsResponse.Parser, (s, r, c) => s.ListPodSandboxStats(r, c));
            ServerStreaming<Cri.CriRuntimeService, global::Runtime.V1.StreamPodSandboxStatsRequest, global::Runtime.V1.StreamPodSandboxStatsResponse>(context, Service, "StreamPodSandboxStats", global::Runtime.V1.StreamPodSandboxStatsRequest.Parser, global::Runtime.V1.StreamPodSandboxStatsResponse.Parser, (s, r, w, c) => s.StreamPodSandboxStats(r, w, c));
            Unary<Cri.CriRuntimeService, global::Runtime.V1.UpdateRuntimeConfigRequest, global::Runtime.V1.UpdateRuntimeConfigResponse>(context, Service, "UpdateRuntimeConfig", global::Runtime.V1.UpdateRuntimeConfigRequest.Parser, global::Runtime.V1.UpdateRuntimeConfigResponse.Parser, (s, r, c) => s.UpdateRuntimeConfig(r, c));
            Unary<Cri.CriRuntimeService, global::Runtime.V1.StatusRequest, global::Runtime.V1.StatusResponse>(context, Service, "Status", global::Runtime.V1.StatusRequest.Parser, global::Runtime.V1.StatusResponse.Parser, (s, r, c) => s.Status(r, c));
            Unary<Cri.CriRuntimeService, global::Runtime.V1.CheckpointContainerRequest, global::Runtime.V1.CheckpointContainerResponse>(context, Service, "CheckpointContainer", global::Runtime.V1.CheckpointContainerRequest.Parser, global::Runtime.V1.CheckpointContainerResponse.Parser, (s, r, c) => s.CheckpointContainer(r, c));
            ServerStreaming<Cri.CriRuntimeService, global::Runtime.V1.GetEventsRequest, global::Runtime.V1.ContainerEventResponse>(context, Service, "GetContainerEvents", global::Runtime.V1.GetEventsRequest.Parser, global::Runtime.V1.ContainerEventResponse.Parser, (s, r, w, c) => s.GetContainerEvents(r, w, c));
            Unary<Cri.CriRuntimeService, global::Runtime.V1.ListMetricDescriptorsRequest, global::Runtime.V1.ListMetricDescriptorsResponse>(context, Service, "ListMetricDescriptors", global::Runtime.V1.ListMetricDescriptorsRequest.Parser, global::Runtime.V1.ListMetricDescriptorsResponse.Parser, (s, r, c) => s.ListMetricDescriptors(r, c));
            Unary<Cri.CriRuntimeService, global::Runtime.V1.ListPodSandboxMetricsRequest, global::Runtime.V1.ListPodSandboxMetricsResponse>(context, Service, "ListPodSandboxMetrics", global::Runtime.V1.ListPodSandboxMetricsRequest.Parser, global::Runtime.V1.ListPodSandboxMetricsResponse.Parser, (s, r, c) => s.ListPodSandboxMetrics(r, c));
            ServerStreaming<Cri.CriRuntimeService, global::Runtime.V1.StreamPodSandboxMetricsRequest, global::Runtime.V1.StreamPodSandboxMetricsResponse>(context, Service, "StreamPodSandboxMetrics", global::Runtime.V1.StreamPodSandboxMetricsRequest.Parser, global::Runtime.V1.StreamPodSandboxMetricsResponse.Parser, (s, r, w, c) => s.StreamPodSandboxMetrics(r, w, c));
            Unary<Cri.CriRuntimeService, global::Runtime.V1.RuntimeConfigRequest, global::Runtime.V1.RuntimeConfigResponse>(context, Service, "RuntimeConfig", global::Runtime.V1.RuntimeConfigRequest.Parser, global::Runtime.V1.RuntimeConfigResponse.Parser, (s, r, c) => s.RuntimeConfig(r, c));
            Unary<Cri.CriRuntimeService, global::Runtime.V1.UpdatePodSandboxResourcesRequest, global::Runtime.V1.UpdatePodSandboxResourcesResponse>(context, Service, "UpdatePodSandboxResources", global::Runtime.V1.UpdatePodSandboxResourcesRequest.Parser, global::Runtime.V1.UpdatePodSandboxResourcesResponse.Parser, (s, r, c) => s.UpdatePodSandboxResources(r, c));
        }
    }

    /// <summary>runtime.v1.ImageService (the kubelet's CRI), method by method.</summary>
    private sealed class CriImageMethods : IServiceMethodProvider<Cri.CriImageService>
    {
        private const string Service = "runtime.v1.ImageService";

        public void OnServiceMethodDiscovery(ServiceMethodProviderContext<Cri.CriImageService> context)
        {
            Unary<Cri.CriImageService, global::Runtime.V1.ListImagesRequest, global::Runtime.V1.ListImagesResponse>(context, Service, "ListImages", global::Runtime.V1.ListImagesRequest.Parser, global::Runtime.V1.ListImagesResponse.Parser, (s, r, c) => s.ListImages(r, c));
            ServerStreaming<Cri.CriImageService, global::Runtime.V1.StreamImagesRequest, global::Runtime.V1.StreamImagesResponse>(context, Service, "StreamImages", global::Runtime.V1.StreamImagesRequest.Parser, global::Runtime.V1.StreamImagesResponse.Parser, (s, r, w, c) => s.StreamImages(r, w, c));
            Unary<Cri.CriImageService, global::Runtime.V1.ImageStatusRequest, global::Runtime.V1.ImageStatusResponse>(context, Service, "ImageStatus", global::Runtime.V1.ImageStatusRequest.Parser, global::Runtime.V1.ImageStatusResponse.Parser, (s, r, c) => s.ImageStatus(r, c));
            Unary<Cri.CriImageService, global::Runtime.V1.PullImageRequest, global::Runtime.V1.PullImageResponse>(context, Service, "PullImage", global::Runtime.V1.PullImageRequest.Parser, global::Runtime.V1.PullImageResponse.Parser, (s, r, c) => s.PullImage(r, c));
            Unary<Cri.CriImageService, global::Runtime.V1.RemoveImageRequest, global::Runtime.V1.RemoveImageResponse>(context, Service, "RemoveImage", global::Runtime.V1.RemoveImageRequest.Parser, global::Runtime.V1.RemoveImageResponse.Parser, (s, r, c) => s.RemoveImage(r, c));
            Unary<Cri.CriImageService, global::Runtime.V1.ImageFsInfoRequest, global::Runtime.V1.ImageFsInfoResponse>(context, Service, "ImageFsInfo", global::Runtime.V1.ImageFsInfoRequest.Parser, global::Runtime.V1.ImageFsInfoResponse.Parser, (s, r, c) => s.ImageFsInfo(r, c));
        }
    }

    /// <summary>
    /// Health and reflection: their methods are learnt from the generated <c>BindService</c>
    /// given no instance; the instance whose handlers the calls use is made by the service's
    /// activator at the first call (reflection's needs every endpoint mapped by then).
    /// </summary>
    private sealed class Provider<[DynamicallyAccessedMembers(ServiceAccessibility)] TService> : IServiceMethodProvider<TService>
        where TService : class
    {
        private readonly IServiceProvider _services;
        private readonly Lock _gate = new();
        private Dictionary<string, Delegate>? _handlers;

        public Provider(IServiceProvider services) => _services = services;

        public void OnServiceMethodDiscovery(ServiceMethodProviderContext<TService> context)
        {
            // The open generic also closes over the daemon's services: their own providers add them.
            if (Prebuilt.Contains(typeof(TService)))
                return;
            Bind(new Binder(this, context, handlers: null), instance: null);
        }

        private static void Bind(ServiceBinderBase binder, TService? instance)
        {
            if (typeof(HealthApi.Health.HealthBase).IsAssignableFrom(typeof(TService)))
                HealthApi.Health.BindService(binder, instance as HealthApi.Health.HealthBase);
            else if (typeof(ReflectionV1Alpha.ServerReflection.ServerReflectionBase).IsAssignableFrom(typeof(TService)))
                ReflectionV1Alpha.ServerReflection.BindService(binder, instance as ReflectionV1Alpha.ServerReflection.ServerReflectionBase);
            else if (typeof(ReflectionV1.ServerReflection.ServerReflectionBase).IsAssignableFrom(typeof(TService)))
                ReflectionV1.ServerReflection.BindService(binder, instance as ReflectionV1.ServerReflection.ServerReflectionBase);
            else
                throw new InvalidOperationException($"no method binding for gRPC service {typeof(TService).Name}");
        }

        /// <summary>The handler of <paramref name="name"/>, bound to the one instance (made at the first call).</summary>
        private T Handler<T>(string name) where T : Delegate
        {
            lock (_gate)
            {
                if (_handlers is null)
                {
                    var handlers = new Dictionary<string, Delegate>(StringComparer.Ordinal);
                    var instance = _services.GetRequiredService<IGrpcServiceActivator<TService>>().Create(_services).Instance;
                    Bind(new Binder(this, context: null, handlers), instance);
                    _handlers = handlers;
                }
                return (T)_handlers[name];
            }
        }

        /// <summary>Without handlers, adds each method (its calls find their handler later); with them, collects them.</summary>
        private sealed class Binder(Provider<TService> owner, ServiceMethodProviderContext<TService>? context, Dictionary<string, Delegate>? handlers)
            : ServiceBinderBase
        {
            public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler)
            {
                if (Collect(method.Name, handler))
                    return;
                context!.AddUnaryMethod(method, NewMetadata(),
                    (_, request, call) => owner.Handler<UnaryServerMethod<TRequest, TResponse>>(method.Name)(request, call));
            }

            public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler)
            {
                if (Collect(method.Name, handler))
                    return;
                context!.AddServerStreamingMethod(method, NewMetadata(),
                    (_, request, stream, call) => owner.Handler<ServerStreamingServerMethod<TRequest, TResponse>>(method.Name)(request, stream, call));
            }

            public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler)
            {
                if (Collect(method.Name, handler))
                    return;
                context!.AddClientStreamingMethod(method, NewMetadata(),
                    (_, requests, call) => owner.Handler<ClientStreamingServerMethod<TRequest, TResponse>>(method.Name)(requests, call));
            }

            public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler)
            {
                if (Collect(method.Name, handler))
                    return;
                context!.AddDuplexStreamingMethod(method, NewMetadata(),
                    (_, requests, stream, call) => owner.Handler<DuplexStreamingServerMethod<TRequest, TResponse>>(method.Name)(requests, stream, call));
            }

            private bool Collect(string name, Delegate? handler)
            {
                if (handlers is null)
                    return false;
                handlers[name] = handler ?? throw new InvalidOperationException($"no handler for {name}");
                return true;
            }
        }
    }
}
