using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ConnMsg.Client.Tests.Infrastructure;

/// <summary>
/// A scripted connmsg.v1 peer on loopback for what the demo gateway cannot do (Appendix A has no op that makes the
/// server send a Req to the client). Everything else is tested against the real gateway.
/// </summary>
internal sealed class ScriptedServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ScriptedServer(WebApplication app, Uri webSocketUri)
    {
        _app = app;
        WebSocketUri = webSocketUri;
    }

    public Uri WebSocketUri { get; }

    public static Task<ScriptedServer> StartAsync(Func<WebSocket, Task> script) => StartAsync((socket, _) => script(socket));

    /// <summary>Runs <paramref name="script"/> per accepted connection with its 0-based index, so reconnects can be scripted.</summary>
    public static Task<ScriptedServer> StartAsync(Func<WebSocket, int, Task> script) => StartAsync(script, new WebSocketOptions());

    /// <summary>
    /// Like <see cref="StartAsync(Func{WebSocket, int, Task})"/> with the server's WebSocket options (e.g. its keep-alive
    /// pings), and TLS with <paramref name="certificate"/> (then <see cref="WebSocketUri"/> is <c>wss://localhost:port</c>).
    /// </summary>
    public static async Task<ScriptedServer> StartAsync(Func<WebSocket, int, Task> script, WebSocketOptions webSocketOptions, X509Certificate2? certificate = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        if (certificate is null)
        {
            builder.WebHost.UseUrls("http://127.0.0.1:0");
        }
        else
        {
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(certificate)));
        }

        builder.Logging.ClearProviders();
        var app = builder.Build();
        int connections = -1;
        app.UseWebSockets(webSocketOptions);
        app.Map("/ws", async context =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = 400;
                return;
            }

            using var socket = await context.WebSockets.AcceptWebSocketAsync("connmsg.v1");
            await script(socket, Interlocked.Increment(ref connections));
        });
        await app.StartAsync();
        var http = new Uri(app.Urls.First());
        return new ScriptedServer(app, new Uri(certificate is null ? $"ws://127.0.0.1:{http.Port}/ws" : $"wss://localhost:{http.Port}/ws"));
    }

    public static Task SendAsync(WebSocket socket, string json)
        => socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, CancellationToken.None);

    public static async Task<string> ReceiveAsync(WebSocket socket)
    {
        var buffer = new byte[64 * 1024];
        int count = 0;
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.AsMemory(count), CancellationToken.None);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new WebSocketException("closed by the client");
            }

            count += result.Count;
            if (result.EndOfMessage)
            {
                return Encoding.UTF8.GetString(buffer, 0, count);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
