using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;

namespace ConnMsg.Baseline.Middleware;

/// <summary>
/// One accepted WebSocket: a read loop that parses each text message with <see cref="JsonDocument"/>
/// and a single writer loop fed by a channel, the usual shape of a middleware-based server.
/// </summary>
/// <remarks>
/// Thread-safety: <see cref="Send"/> may be called from any thread (publishers, timers);
/// everything else runs on the connection's own read loop.
/// </remarks>
internal sealed class BaselineConnection
{
    private static long s_nextId;

    private readonly WebSocket _socket;
    private readonly DemoService _service;
    private readonly Channel<byte[]> _outbound = Channel.CreateUnbounded<byte[]>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
    private readonly HashSet<string> _inFlight = new(StringComparer.Ordinal);
    private readonly HashSet<string> _subscriptions = new(StringComparer.Ordinal);
    private long _queuedBytes;
    private int _closeStatus;

    /// <summary>Creates the connection state for an accepted socket.</summary>
    public BaselineConnection(WebSocket socket, DemoService service)
    {
        _socket = socket;
        _service = service;
        Id = "c" + Interlocked.Increment(ref s_nextId).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The connection id announced in the <c>$session</c> Ind.</summary>
    public string Id { get; }

    /// <summary>Topics this connection is subscribed to; guarded by locking the set.</summary>
    public HashSet<string> Subscriptions => _subscriptions;

    /// <summary>Runs the connection until either side closes it.</summary>
    public async Task RunAsync(CancellationToken aborted)
    {
        Task writer = WriteLoopAsync();
        Send(_service.EncodeSession(Id));
        WebSocketCloseStatus status = WebSocketCloseStatus.NormalClosure;
        try
        {
            status = await ReadLoopAsync(aborted);
        }
        catch (WebSocketException)
        {
            status = WebSocketCloseStatus.Empty;
        }
        catch (OperationCanceledException)
        {
            status = WebSocketCloseStatus.Empty;
        }
        finally
        {
            _service.Topics.RemoveAll(this);
        }

        Interlocked.CompareExchange(ref _closeStatus, (int)status, 0);
        _outbound.Writer.TryComplete();
        await writer;
    }

    /// <summary>Queues one complete encoded message; the same array may go to many connections.</summary>
    public void Send(byte[] message)
    {
        if (Interlocked.Add(ref _queuedBytes, message.Length) > BaselineLimits.MaxOutboundBytes)
        {
            // A slow consumer must not grow our memory without bound (PROTOCOL.md §6, 1013).
            Interlocked.CompareExchange(ref _closeStatus, 1013, 0);
            _outbound.Writer.TryComplete();
            return;
        }

        _outbound.Writer.TryWrite(message);
    }

    /// <summary>Registers a request that completes later; false when its id is already in flight or too many are.</summary>
    public bool TryBeginRequest(string idKey, out string? rejectCode)
    {
        lock (_inFlight)
        {
            if (_inFlight.Count >= BaselineLimits.MaxInFlight)
            {
                rejectCode = "overloaded";
                return false;
            }

            if (!_inFlight.Add(idKey))
            {
                rejectCode = "duplicate_id";
                return false;
            }
        }

        rejectCode = null;
        return true;
    }

    /// <summary>Forgets a request registered with <see cref="TryBeginRequest"/>.</summary>
    public void EndRequest(string idKey)
    {
        lock (_inFlight)
        {
            _inFlight.Remove(idKey);
        }
    }

    /// <summary>True while <paramref name="idKey"/> names a request still in flight.</summary>
    public bool IsInFlight(string idKey)
    {
        lock (_inFlight)
        {
            return _inFlight.Contains(idKey);
        }
    }

    private async Task<WebSocketCloseStatus> ReadLoopAsync(CancellationToken aborted)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        var message = new ArrayBufferWriter<byte>(16 * 1024);
        try
        {
            while (true)
            {
                ValueWebSocketReceiveResult result = await _socket.ReceiveAsync(buffer.AsMemory(), aborted);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return WebSocketCloseStatus.NormalClosure;
                }

                if (result.MessageType == WebSocketMessageType.Binary)
                {
                    return WebSocketCloseStatus.InvalidMessageType;
                }

                if (message.WrittenCount + result.Count > BaselineLimits.MaxMessageSize)
                {
                    return WebSocketCloseStatus.MessageTooBig;
                }

                if (result.EndOfMessage && message.WrittenCount == 0)
                {
                    // The common case: the whole message arrived in one receive; parse it in place.
                    _service.HandleMessage(this, buffer.AsMemory(0, result.Count));
                    continue;
                }

                message.Write(buffer.AsSpan(0, result.Count));
                if (result.EndOfMessage)
                {
                    _service.HandleMessage(this, message.WrittenMemory);
                    message.ResetWrittenCount();
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task WriteLoopAsync()
    {
        ChannelReader<byte[]> reader = _outbound.Reader;
        try
        {
            while (await reader.WaitToReadAsync())
            {
                while (reader.TryRead(out byte[]? message))
                {
                    Interlocked.Add(ref _queuedBytes, -message.Length);
                    await _socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
                }
            }

            await CloseAsync();
        }
        catch (WebSocketException)
        {
            // The peer went away; the read loop notices as well.
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private async Task CloseAsync()
    {
        int status = Volatile.Read(ref _closeStatus);
        if (status == (int)WebSocketCloseStatus.Empty || _socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived))
        {
            return;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _socket.CloseOutputAsync((WebSocketCloseStatus)(status == 0 ? 1000 : status), null, timeout.Token);
    }
}
