using System.Net.WebSockets;
using System.Text;
using ConnMsg.Hosting;
using ConnMsg.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ConnMsg.Tests.SocketTransport;

/// <summary>ConnMsg's transport as Kestrel sees it: registered by <c>UseConnMsgTransport</c>, validated at start.</summary>
public sealed class SocketTransportHostingTests
{
    [Fact]
    public async Task AnInvalidTransportOptionStopsTheHostAtStartWithAMessageNamingIt()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseConnMsgTransport(o => o.Backlog = 0);
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, l => l.UseConnMsg()));
        builder.Services.AddConnMsg();
        await using WebApplication app = builder.Build();
        var error = await Assert.ThrowsAnyAsync<Exception>(() => app.StartAsync());
        Assert.Contains("Backlog", error.ToString());
    }

    [Fact]
    public async Task UseConnMsgTransportPutsKestrelsTcpEndpointsOnIt()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseConnMsgTransport();
        builder.Services.AddConnMsg();
        await using WebApplication app = builder.Build();
        IConnectionListenerFactory[] factories = app.Services.GetServices<IConnectionListenerFactory>().ToArray();
        // Kestrel tries the last registered first; ours binds IP end points and leaves the others to Kestrel's.
        var ours = Assert.IsAssignableFrom<IConnectionListenerFactorySelector>(factories[^1]);
        Assert.True(ours.CanBind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0)));
        Assert.False(ours.CanBind(new System.Net.Sockets.UnixDomainSocketEndPoint("/tmp/connmsg-test.sock")));
    }

    [Fact]
    public async Task AClientWebSocketGetsItsEchoOverTheTransport()
    {
        await using TestServer server = await TestServer.StartAsync(transport: "connmsg");
        using var ws = new ClientWebSocket();
        ws.Options.AddSubProtocol("connmsg.v1");
        await ws.ConnectAsync(server.WebSocketUri, CancellationToken.None);
        byte[] request = Encoding.UTF8.GetBytes("{\"type\":\"req\",\"id\":7,\"op\":\"echo\",\"data\":{\"x\":1}}");
        await ws.SendAsync(request, WebSocketMessageType.Text, true, CancellationToken.None);
        string cfm = await ReceiveCfmAsync(ws);
        Assert.Contains("\"id\":7", cfm);
        Assert.Contains("\"x\":1", cfm);
    }

    private static async Task<string> ReceiveCfmAsync(ClientWebSocket ws)
    {
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (true)
        {
            WebSocketReceiveResult result = await ws.ReceiveAsync(buffer, cts.Token);
            string text = Encoding.UTF8.GetString(buffer, 0, result.Count);
            if (text.Contains("\"cfm\""))
            {
                return text;
            }
        }
    }
}
