using System.Net;
using ConnMsg.Gateway.Demo;
using ConnMsg.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ConnMsg.Tests.Infrastructure;

/// <summary>
/// A real Kestrel listener on a free loopback port serving ConnMsg: the gateway's demo ops by default, plus whatever
/// a test maps through <c>configure</c>. Disposing stops it (gracefully, through the drain).
/// </summary>
public sealed class TestServer : IAsyncDisposable
{
    private TestServer(WebApplication app, Uri httpBase)
    {
        App = app;
        HttpBase = httpBase;
        WebSocketUri = new Uri($"ws://{httpBase.Authority}/ws");
    }

    public WebApplication App { get; }

    /// <summary>e.g. http://127.0.0.1:41234/</summary>
    public Uri HttpBase { get; }

    /// <summary>e.g. ws://127.0.0.1:41234/ws (the scheme is ws even when a test put TLS on the endpoint).</summary>
    public Uri WebSocketUri { get; }

    public int Port => HttpBase.Port;

    public IConnMsgServer Server => App.Services.GetRequiredService<IConnMsgServer>();

    public static async Task<TestServer> StartAsync(Action<ConnMsgOptions>? options = null, Action<ConnMsgBuilder>? configure = null, bool demo = true,
        Action<Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions>? listen = null, string? transport = null,
        Action<IConfigurationBuilder>? configuration = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        // Sources a test adds come last, so they override the host's own (appsettings.json, environment variables).
        configuration?.Invoke(builder.Configuration);
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // `listen` runs first, so connection middleware such as TLS sits in front of ConnMsg.
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l =>
        {
            listen?.Invoke(l);
            l.UseConnMsg();
        }));
        // The suite runs over Kestrel's socket transport, as the gateway does by default; CONNMSG_TEST_TRANSPORT=connmsg
        // runs it over ConnMsg's (test.sh runs it both ways).
        if ((transport ?? Environment.GetEnvironmentVariable("CONNMSG_TEST_TRANSPORT")) is "connmsg")
        {
            builder.WebHost.UseConnMsgTransport();
        }

        ConnMsgBuilder connmsg = builder.Services.AddConnMsg(options);
        if (demo)
        {
            DemoService.Map(connmsg, serverRequests: true);
        }

        configure?.Invoke(connmsg);
        WebApplication app = builder.Build();
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new TestServer(app, new Uri(address.EndsWith('/') ? address : address + "/"));
    }

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await App.StopAsync(cts.Token);
        await App.DisposeAsync();
    }
}
