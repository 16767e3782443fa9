using Containerd.Daemon.Containers;
using Containerd.Daemon.Content;
using Containerd.Daemon.Hosting;
using Containerd.Daemon.Tasks;
using Containerd.Daemon.Versioning;
using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Containerd.UnitTests.Daemon.Hosting;

/// <summary>
/// The method lists the daemon hands Grpc.AspNetCore instead of its reflection-based
/// discovery: every method of every served service is mapped, once, under its own service.
/// </summary>
public sealed class PrebuiltServiceMethodsTests
{
    [Test]
    public async Task Every_method_of_every_service_is_mapped_once_under_its_own_service()
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        builder.Services.AddRoutingCore();
        builder.Services.AddGrpcHealthChecks().AddCheck("containerd", () => HealthCheckResult.Healthy());
        builder.Services.AddGrpc();
        builder.Services.AddGrpcReflection();
        PrebuiltServiceMethods.Register(builder.Services);
        await using var app = builder.Build();
        DaemonHost.MapServices(app);

        var services = new[]
        {
            Containerd.Api.Execution.Tasks.Descriptor,
            Containerd.Api.Containers.Containers.Descriptor,
            Containerd.Api.Version.Version.Descriptor,
            Containerd.Api.Content.Content.Descriptor,
            Containerd.Api.Images.Images.Descriptor,
            Containerd.Api.Images.Pull.Descriptor,
            Grpc.Health.V1.Health.Descriptor,
            Grpc.Reflection.V1Alpha.ServerReflection.Descriptor,
            Grpc.Reflection.V1.ServerReflection.Descriptor,
        };
        var served = services.Select(s => s.FullName).ToHashSet();
        var mapped = ((IEndpointRouteBuilder)app).DataSources.SelectMany(d => d.Endpoints)
            .Select(e => e.Metadata.GetMetadata<GrpcMethodMetadata>())
            .OfType<GrpcMethodMetadata>()
            .Where(m => served.Contains(m.Method.ServiceName))
            .ToList();

        var expected = services.SelectMany(s => s.Methods.Select(m => $"/{s.FullName}/{m.Name}"));
        Assert.That(mapped.Select(m => m.Method.FullName), Is.EquivalentTo(expected));
        Assert.Multiple(() =>
        {
            Assert.That(mapped.Where(m => m.Method.ServiceName == "containerd.v1.services.execution.Tasks").Select(m => m.ServiceType),
                Is.All.EqualTo(typeof(TasksService)));
            Assert.That(mapped.Where(m => m.Method.ServiceName == "containerd.v1.Containers").Select(m => m.ServiceType),
                Is.All.EqualTo(typeof(ContainersService)));
            Assert.That(mapped.Where(m => m.Method.ServiceName == "containerd.v1.Version").Select(m => m.ServiceType),
                Is.All.EqualTo(typeof(VersionService)));
            Assert.That(mapped.Where(m => m.Method.ServiceName == "containerd.services.content.v1.Content").Select(m => m.ServiceType),
                Is.All.EqualTo(typeof(ContentService)));
            Assert.That(mapped.Where(m => m.Method.ServiceName == "containerd.services.images.v1.Images").Select(m => m.ServiceType),
                Is.All.EqualTo(typeof(Containerd.Daemon.Images.ImagesService)));
            Assert.That(mapped.Where(m => m.Method.ServiceName == "containerd.services.images.v1.Pull").Select(m => m.ServiceType),
                Is.All.EqualTo(typeof(Containerd.Daemon.Images.PullService)));
        });
    }
}
