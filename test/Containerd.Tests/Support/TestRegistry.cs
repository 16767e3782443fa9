using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Containerd.Tests.Support;

/// <summary>How a <see cref="TestRegistry"/> is reached: the three ways a pull must cope with.</summary>
public enum RegistryKind
{
    /// <summary>Plain HTTP, no credentials (a client needs its "plain http" switch).</summary>
    Plain,

    /// <summary>Plain HTTP with basic auth from a bcrypt htpasswd file: 401 without credentials.</summary>
    BasicAuth,

    /// <summary>HTTPS with a self-signed certificate for IP 127.0.0.1 (<see cref="TestRegistry.CertificatePath"/>).</summary>
    Tls,
}

/// <summary>
/// Debian's docker-registry (distribution 2.8) serving on 127.0.0.1 at a free port, with its
/// storage, config, certificate and htpasswd file in a temporary directory of its own.
/// </summary>
public sealed class TestRegistry : IAsyncDisposable
{
    public const string Username = "tester";

    public const string Password = "s3cret-pass";

    private readonly Process _process;
    private readonly StringBuilder _log;
    private readonly X509Certificate2? _certificate;

    private TestRegistry(RegistryKind kind, int port, string directory, Process process, StringBuilder log, X509Certificate2? certificate)
    {
        Kind = kind;
        Port = port;
        Directory = directory;
        _process = process;
        _log = log;
        _certificate = certificate;
    }

    public RegistryKind Kind { get; }

    public int Port { get; }

    /// <summary>"127.0.0.1:PORT": the host part of an image reference.</summary>
    public string Host => $"127.0.0.1:{Port}";

    public Uri BaseUri => new($"{(Kind == RegistryKind.Tls ? "https" : "http")}://{Host}/");

    /// <summary>The registry's temporary directory (storage in storage/, its log in the <see cref="Log"/>).</summary>
    public string Directory { get; }

    /// <summary>The self-signed certificate (PEM) of a TLS registry, to trust it; null otherwise.</summary>
    public string? CertificatePath => Kind == RegistryKind.Tls ? Path.Combine(Directory, "certs", "ca.crt") : null;

    /// <summary>A directory holding only ca.crt (the certificate): what skopeo's --*-cert-dir and containerd's hosts dirs read.</summary>
    public string? CertificateDirectory => Kind == RegistryKind.Tls ? Path.Combine(Directory, "certs") : null;

    /// <summary>"user:password" for a basic-auth registry (skopeo --creds, ctr --user); null otherwise.</summary>
    public string? Credentials => Kind == RegistryKind.BasicAuth ? $"{Username}:{Password}" : null;

    /// <summary>What the registry wrote (its access log included), for failure messages.</summary>
    public string Log
    {
        get
        {
            lock (_log)
                return _log.ToString();
        }
    }

    /// <summary>NAME:TAG (or NAME@DIGEST) on this registry.</summary>
    public string Reference(string nameAndTag) => $"{Host}/{nameAndTag}";

    public static async Task<TestRegistry> StartAsync(RegistryKind kind, CancellationToken cancellationToken)
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("ctrd-registry-").FullName;
        try
        {
            X509Certificate2? certificate = null;
            if (kind == RegistryKind.Tls)
                certificate = await MakeCertificateAsync(directory, cancellationToken);
            if (kind == RegistryKind.BasicAuth)
            {
                // bcrypt: the only htpasswd hash distribution accepts.
                await RegistryTools.RunAsync("htpasswd", ["-B", "-b", "-c", Path.Combine(directory, "htpasswd"), Username, Password], cancellationToken);
            }

            // The free port is found by binding and releasing it, so another process may take it
            // before the registry binds: a registry that exits at once is retried on a new port.
            for (var attempt = 1; ; attempt++)
            {
                var port = FreePort();
                var config = Path.Combine(directory, "config.yml");
                await File.WriteAllTextAsync(config, Config(kind, directory, port), cancellationToken);
                var log = new StringBuilder();
                var process = Spawn(config, log);
                var registry = new TestRegistry(kind, port, directory, process, log, certificate);
                try
                {
                    await registry.WaitReadyAsync(cancellationToken);
                    return registry;
                }
                catch (Exception) when (attempt < 3 && process.HasExited && !cancellationToken.IsCancellationRequested)
                {
                    process.Dispose();
                }
                catch
                {
                    await registry.StopAsync();
                    throw;
                }
            }
        }
        catch
        {
            TryDelete(directory);
            throw;
        }
    }

    /// <summary>
    /// A client for this registry: it trusts the TLS registry's certificate (and nothing else for
    /// that host), and sends basic credentials when asked on an auth registry.
    /// </summary>
    public HttpClient CreateHttpClient(bool withCredentials = true)
    {
        var handler = new SocketsHttpHandler { AllowAutoRedirect = false };
        if (_certificate is not null)
        {
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                CertificateChainPolicy = new X509ChainPolicy
                {
                    TrustMode = X509ChainTrustMode.CustomRootTrust,
                    CustomTrustStore = { _certificate },
                    RevocationMode = X509RevocationMode.NoCheck,
                },
            };
        }
        var client = new HttpClient(handler) { BaseAddress = BaseUri, Timeout = TimeSpan.FromSeconds(60) };
        if (withCredentials && Kind == RegistryKind.BasicAuth)
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Username}:{Password}")));
        return client;
    }

    /// <summary>Stops the registry (kill by pid, then wait) and removes its directory.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _certificate?.Dispose();
        TryDelete(Directory);
    }

    private async Task StopAsync()
    {
        try
        {
            if (!_process.HasExited)
                _process.Kill();
        }
        catch (InvalidOperationException)
        {
            // It exited between the check and the kill.
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _process.WaitForExitAsync(timeout.Token);
        _process.Dispose();
    }

    private async Task WaitReadyAsync(CancellationToken cancellationToken)
    {
        using var client = CreateHttpClient(withCredentials: false);
        client.Timeout = TimeSpan.FromSeconds(2);
        var deadline = Stopwatch.StartNew();
        var ready = Kind == RegistryKind.BasicAuth ? HttpStatusCode.Unauthorized : HttpStatusCode.OK;
        string last = "no answer";
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"docker-registry exited with {_process.ExitCode} before it was ready:\n{Log}");
            try
            {
                using var response = await client.GetAsync("v2/", cancellationToken);
                if (response.StatusCode == ready)
                    return;
                last = $"status {(int)response.StatusCode}";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                last = e.Message;
            }
            await Task.Delay(50, cancellationToken);
        }
        throw new TimeoutException($"docker-registry on {Host} not ready after 30 s ({last}):\n{Log}");
    }

    private static Process Spawn(string config, StringBuilder log)
    {
        var info = new ProcessStartInfo("docker-registry")
        {
            ArgumentList = { "serve", config },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = new Process { StartInfo = info };
        DataReceivedEventHandler append = (_, e) =>
        {
            if (e.Data is null)
                return;
            lock (log)
                log.AppendLine(e.Data);
        };
        process.OutputDataReceived += append;
        process.ErrorDataReceived += append;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static string Config(RegistryKind kind, string directory, int port)
    {
        // Deletes are enabled so a test may remove what it pushed; the fixed secret keeps the
        // registry from warning about a random one. Only 127.0.0.1 is ever bound.
        var config = new StringBuilder($"""
            version: 0.1
            log:
              level: info
            storage:
              filesystem:
                rootdirectory: {Path.Combine(directory, "storage")}
              delete:
                enabled: true
            http:
              addr: 127.0.0.1:{port}
              secret: test-registry-secret
            """);
        config.Append('\n');
        if (kind == RegistryKind.Tls)
        {
            config.Append($"""
                  tls:
                    certificate: {Path.Combine(directory, "certs", "ca.crt")}
                    key: {Path.Combine(directory, "key.pem")}
                """).Append('\n');
        }
        if (kind == RegistryKind.BasicAuth)
        {
            config.Append($"""
                auth:
                  htpasswd:
                    realm: test-registry
                    path: {Path.Combine(directory, "htpasswd")}
                """).Append('\n');
        }
        return config.ToString();
    }

    private static async Task<X509Certificate2> MakeCertificateAsync(string directory, CancellationToken cancellationToken)
    {
        var certs = System.IO.Directory.CreateDirectory(Path.Combine(directory, "certs")).FullName;
        var cert = Path.Combine(certs, "ca.crt");
        // The key stays outside certs/: tools that read a cert dir take *.key as a client key.
        await RegistryTools.RunAsync("openssl",
        [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", Path.Combine(directory, "key.pem"), "-out", cert,
        ], cancellationToken);
        return X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(cert, cancellationToken));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void TryDelete(string directory)
    {
        try
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
