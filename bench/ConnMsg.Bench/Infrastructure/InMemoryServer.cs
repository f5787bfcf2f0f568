using System.Diagnostics.Metrics;
using System.IO.Pipelines;
using ConnMsg.Diagnostics;
using ConnMsg.Hosting;
using ConnMsg.Http;
using ConnMsg.Messaging;
using ConnMsg.WebSockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace ConnMsg.Bench.Infrastructure;

/// <summary>
/// A ConnMsg server without Kestrel or sockets: the real <see cref="ConnMsgApplication"/> and
/// <see cref="WebSocketConnection"/>s over in-memory pipe pairs, built the way the connection handler builds them.
/// </summary>
/// <remarks>Not thread-safe; build it in a benchmark's setup.</remarks>
internal sealed class InMemoryServer : IDisposable
{
    private static readonly HttpRequestHead UpgradeHead = new("GET", "/ws", string.Empty, "HTTP/1.1",
        [new("Host", "localhost"), new("Upgrade", "websocket"), new("Connection", "Upgrade")]);

    private readonly Meter _meter = new("bench");
    private readonly ServiceProvider _services = new ServiceCollection().BuildServiceProvider();

    public InMemoryServer(Action<ConnMsgEndpointSettings>? configure = null)
    {
        ServerOptions = new ConnMsgOptions();
        var settings = new ConnMsgEndpointSettings();
        settings.Handlers["echo"] = r =>
        {
            r.Confirm(r.Data.Span);
            return default;
        };
        configure?.Invoke(settings);
        App = new ConnMsgApplication(Options.Create(ServerOptions), settings, new MessagingMetrics(_meter),
            NullLogger<ConnMsgApplication>.Instance, _services);
        TransportMetrics = new TransportMetrics(_meter);
    }

    public ConnMsgOptions ServerOptions { get; }

    public ConnMsgApplication App { get; }

    public TransportMetrics TransportMetrics { get; }

    /// <summary>A transport connection over a fresh pipe pair; nothing runs on it yet.</summary>
    public InMemoryConnection CreateConnection(string id, PipeOptions pipes)
    {
        (DuplexPipe transport, DuplexPipe application) = DuplexPipe.CreatePair(pipes);
        var context = new DefaultConnectionContext(id, transport, application);
        var ws = new WebSocketConnection(context, UpgradeHead, WebSocketHandshake.SubProtocol, ServerOptions, TransportMetrics,
            NullLogger.Instance);
        return new InMemoryConnection(context, transport, application, ws);
    }

    /// <summary>
    /// A ConnMsg session opened through <see cref="ConnMsgApplication.OpenAsync"/> without a read loop: messages are
    /// handed to it directly, and its outbound queue is drained on the thread pool.
    /// </summary>
    public InMemoryConnection OpenSession(string id)
    {
        InMemoryConnection connection = CreateConnection(id, DuplexPipe.ThreadPool);
        ValueTask<IWebSocketSession> open = App.OpenAsync(connection.WebSocket);
        connection.Session = (ConnMsgConnection)open.AsTask().GetAwaiter().GetResult();
        return connection;
    }

    /// <summary>
    /// A connection whose real read loop runs, on inline pipes: a client write drives frame parsing, dispatch, encoding
    /// and the drain to completion on the writing thread.
    /// </summary>
    public InMemoryConnection Run(string id, IWebSocketApplication? application = null)
    {
        InMemoryConnection connection = CreateConnection(id, DuplexPipe.Inline);
        connection.Running = connection.WebSocket.RunAsync(application ?? App);
        return connection;
    }

    public void Dispose()
    {
        _services.Dispose();
        _meter.Dispose();
    }
}
