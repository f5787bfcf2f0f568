using System.Net.WebSockets;
using BenchmarkDotNet.Attributes;
using ConnMsg.Bench.Infrastructure;

namespace ConnMsg.Bench.Benchmarks;

/// <summary>
/// Codec against codec: one text message round trip, client to server and back, over an in-memory pipe pair. The
/// client is the BCL's <c>ManagedWebSocket</c> in both; the server is either another <c>ManagedWebSocket</c>
/// (<see cref="WebSocket.CreateFromStream(Stream, WebSocketCreationOptions)"/>) or our <see cref="ConnMsg.WebSockets.WebSocketConnection"/>
/// with a transport-only echo. Both servers unmask, validate UTF-8 and frame the answer.
/// </summary>
[MemoryDiagnoser]
public class CodecBenchmarks
{
    private InMemoryServer _server = null!;
    private InMemoryConnection _ours = null!;
    private WebSocket _oursClient = null!;
    private WebSocket _bclServer = null!;
    private WebSocket _bclClient = null!;
    private byte[] _message = [];
    private byte[] _serverBuffer = [];
    private byte[] _clientBuffer = [];

    [Params(64, 4096)]
    public int PayloadSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _message = Payloads.MixedText(PayloadSize);
        _serverBuffer = new byte[PayloadSize + 16];
        _clientBuffer = new byte[PayloadSize + 16];

        (DuplexPipe serverSide, DuplexPipe clientSide) = DuplexPipe.CreatePair(DuplexPipe.Inline);
        _bclServer = WebSocket.CreateFromStream(new PipeStream(serverSide), new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = TimeSpan.Zero });
        _bclClient = WebSocket.CreateFromStream(new PipeStream(clientSide), new WebSocketCreationOptions { IsServer = false, KeepAliveInterval = TimeSpan.Zero });

        _server = new InMemoryServer();
        _ours = _server.Run("codec", new EchoTransportApplication());
        _oursClient = WebSocket.CreateFromStream(new PipeStream(_ours.Client), new WebSocketCreationOptions { IsServer = false, KeepAliveInterval = TimeSpan.Zero });

        ValueTask<int> bcl = ManagedWebSocketServer();
        ValueTask<int> ours = ConnMsgServer();
        if (!bcl.IsCompletedSuccessfully || !ours.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException("a round trip went asynchronous on inline pipes");
        }

        if (bcl.Result != _message.Length || ours.Result != _message.Length || !_clientBuffer.AsSpan(0, _message.Length).SequenceEqual(_message))
        {
            throw new InvalidOperationException("the echo differs from the message");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _bclClient.Abort();
        _bclServer.Abort();
        _oursClient.Abort();
        _bclClient.Dispose();
        _bclServer.Dispose();
        _oursClient.Dispose();
        _ours.Running?.Wait(TimeSpan.FromSeconds(10));
        _server.Dispose();
    }

    [Benchmark(Baseline = true, Description = "server: ManagedWebSocket (CreateFromStream)")]
    public async ValueTask<int> ManagedWebSocketServer()
    {
        await _bclClient.SendAsync(_message, WebSocketMessageType.Text, endOfMessage: true, default).ConfigureAwait(false);
        int received = await ReceiveMessageAsync(_bclServer, _serverBuffer).ConfigureAwait(false);
        await _bclServer.SendAsync(_serverBuffer.AsMemory(0, received), WebSocketMessageType.Text, endOfMessage: true, default).ConfigureAwait(false);
        return await ReceiveMessageAsync(_bclClient, _clientBuffer).ConfigureAwait(false);
    }

    [Benchmark(Description = "server: ConnMsg WebSocketConnection")]
    public async ValueTask<int> ConnMsgServer()
    {
        // The send drives our read loop inline: unmask, validate, echo, drain. The answer is waiting when it returns.
        await _oursClient.SendAsync(_message, WebSocketMessageType.Text, endOfMessage: true, default).ConfigureAwait(false);
        return await ReceiveMessageAsync(_oursClient, _clientBuffer).ConfigureAwait(false);
    }

    private static async ValueTask<int> ReceiveMessageAsync(WebSocket socket, byte[] buffer)
    {
        int total = 0;
        while (true)
        {
            ValueWebSocketReceiveResult result = await socket.ReceiveAsync(buffer.AsMemory(total), default).ConfigureAwait(false);
            total += result.Count;
            if (result.EndOfMessage)
            {
                return total;
            }
        }
    }
}
