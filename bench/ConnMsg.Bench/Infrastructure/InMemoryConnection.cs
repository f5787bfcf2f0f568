using ConnMsg.Messaging;
using ConnMsg.WebSockets;
using Microsoft.AspNetCore.Connections;

namespace ConnMsg.Bench.Infrastructure;

/// <summary>One server connection over an in-memory pipe pair, and the client's ends of those pipes.</summary>
internal sealed class InMemoryConnection
{
    public InMemoryConnection(DefaultConnectionContext context, DuplexPipe transport, DuplexPipe client, WebSocketConnection webSocket)
    {
        Context = context;
        Transport = transport;
        Client = client;
        WebSocket = webSocket;
    }

    public DefaultConnectionContext Context { get; }

    /// <summary>The server's ends (what Kestrel would hand the connection handler).</summary>
    public DuplexPipe Transport { get; }

    /// <summary>The client's ends: write client frames to <c>Output</c>, read server frames from <c>Input</c>.</summary>
    public DuplexPipe Client { get; }

    public WebSocketConnection WebSocket { get; }

    /// <summary>Set when opened with <see cref="InMemoryServer.OpenSession"/>.</summary>
    public ConnMsgConnection? Session { get; set; }

    /// <summary>Set when the read loop runs (<see cref="InMemoryServer.Run"/>).</summary>
    public Task? Running { get; set; }

    /// <summary>Ends the connection: the client goes away, the server notices and cleans up.</summary>
    public void Close()
    {
        Client.Output.Complete();
        if (Running is not null)
        {
            Running.Wait(TimeSpan.FromSeconds(10));
        }
        else if (Session is not null)
        {
            ((IWebSocketSession)Session).OnClosedAsync().AsTask().Wait(TimeSpan.FromSeconds(10));
        }

        Client.Input.Complete();
    }
}
