using System.Buffers;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Net.WebSockets;

namespace ConnMsg.Client.Internal;

/// <summary>
/// The transport over a <see cref="Socket"/> (and <see cref="SslStream"/> for <c>wss://</c>) with our own RFC 6455
/// client codec, built for throughput:
/// <list type="bullet">
/// <item>Sending appends the framed, masked message to one buffer under a short lock. The sender that finds no flush
/// running becomes the flusher and writes everything queued with one write; senders that arrive meanwhile only
/// append. No loop is woken per message.</item>
/// <item>The receive loop reads as much as the socket has and handles every complete frame in the buffer. While it
/// dispatches, sends are "corked": they only append, and the loop flushes once after the batch, so answers to many
/// requests arrive with one read and the requests they trigger leave with one write.</item>
/// </list>
/// </summary>
/// <remarks>
/// Thread-safe: any thread may send. One receive loop; at most one flusher at a time. Used unless the application
/// needs <see cref="ClientWebSocketOptions"/> (see <see cref="ConnMsgClientOptions.UseClientWebSocket"/>).
/// </remarks>
internal sealed partial class SocketTransport : Transport
{
    private const int InitialBufferSize = 16 * 1024;

    private readonly Socket _socket;
    private readonly Stream _stream;
    private readonly int _maxIncoming;
    private readonly TimeSpan _keepAliveInterval;
    private readonly TimeSpan _keepAliveTimeout;
    private ITransportSink _sink = null!;
    private Task _receiveLoop = Task.CompletedTask;
    private Timer? _keepAlive;
    private int _aborted;

    private SocketTransport(Socket socket, Stream stream, byte[] received, int receivedCount, int maxIncoming, int maxPendingSend, TimeSpan keepAliveInterval, TimeSpan keepAliveTimeout)
        : base(maxPendingSend)
    {
        _socket = socket;
        _stream = stream;
        _receiveBuffer = received;
        _receiveEnd = receivedCount;
        _maxIncoming = maxIncoming;
        _keepAliveInterval = keepAliveInterval;
        _keepAliveTimeout = keepAliveTimeout;
    }

    public override Task Completion => _receiveLoop;

    private bool IsAborted => Volatile.Read(ref _aborted) != 0;

    /// <summary>TCP connect, TLS for <c>wss://</c>, then the opening handshake offering <paramref name="subProtocol"/>.</summary>
    /// <exception cref="WebSocketException">The server could not be reached or refused the upgrade.</exception>
    public static async Task<SocketTransport> ConnectAsync(Uri uri, string subProtocol, ConnMsgClientOptions options, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (options.SocketSendBufferSize is { } sendBufferSize)
        {
            socket.SendBufferSize = sendBufferSize;
        }

        Stream? stream = null;
        byte[]? buffer = null;
        bool connected = false;
        try
        {
            int port = uri.Port > 0 ? uri.Port : uri.Scheme == "wss" ? 443 : 80;
            EndPoint endPoint = IPAddress.TryParse(uri.DnsSafeHost, out var address)
                ? new IPEndPoint(address, port)
                : new DnsEndPoint(uri.IdnHost, port);
            await socket.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false);
            stream = new NetworkStream(socket, ownsSocket: true);
            if (uri.Scheme == "wss")
            {
                var tls = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = tls;
                await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = uri.IdnHost, RemoteCertificateValidationCallback = options.RemoteCertificateValidation }, cancellationToken).ConfigureAwait(false);
            }

            string key = WebSocketHandshake.NewKey();
            await stream.WriteAsync(WebSocketHandshake.BuildRequest(uri, key, subProtocol), cancellationToken).ConfigureAwait(false);

            buffer = ArrayPool<byte>.Shared.Rent(InitialBufferSize);
            int count = 0;
            int headerEnd;
            while ((headerEnd = WebSocketHandshake.FindEnd(buffer.AsSpan(0, count))) < 0)
            {
                if (count >= WebSocketHandshake.MaxResponseHeaderBytes || count == buffer.Length)
                {
                    throw new WebSocketException(WebSocketError.HeaderError, "The server's answer to the WebSocket upgrade is too long.");
                }

                int read = await stream.ReadAsync(buffer.AsMemory(count), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    throw new WebSocketException(WebSocketError.ConnectionClosedPrematurely, "The server closed the connection during the WebSocket handshake.");
                }

                count += read;
            }

            WebSocketHandshake.Validate(buffer.AsSpan(0, headerEnd), key, subProtocol);

            // Frames the server sent right behind its 101 stay in the buffer for the receive loop.
            buffer.AsSpan(headerEnd, count - headerEnd).CopyTo(buffer);
            var transport = new SocketTransport(socket, stream, buffer, count - headerEnd, options.MaxIncomingMessageSize, options.MaxPendingSendBytes, options.KeepAliveInterval, options.KeepAliveTimeout);
            connected = true;
            return transport;
        }
        catch (Exception e) when (e is SocketException or IOException or System.Security.Authentication.AuthenticationException)
        {
            // ClientWebSocket reports an unreachable server as a WebSocketException; so do we.
            throw new WebSocketException(WebSocketError.Faulted, $"Unable to connect to {uri}: {e.Message}", e);
        }
        finally
        {
            if (!connected)
            {
                if (buffer is not null)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }

                if (stream is not null)
                {
                    await stream.DisposeAsync().ConfigureAwait(false);
                }
                else
                {
                    socket.Dispose();
                }
            }
        }
    }

    public override void Start(ITransportSink sink)
    {
        _sink = sink;
        if (_keepAliveInterval > TimeSpan.Zero && _keepAliveInterval != Timeout.InfiniteTimeSpan)
        {
            _keepAlive = new Timer(static s => ((SocketTransport)s!).OnKeepAlive(), this, _keepAliveInterval, _keepAliveInterval);
        }

        _receiveLoop = Task.Run(ReceiveLoopAsync);
    }

    public override async Task CloseAsync(CancellationToken cancellationToken)
    {
        if (TryQueueClose(1000))
        {
            await _closeFlushed.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        await _receiveLoop.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public override void Abort()
    {
        if (Interlocked.Exchange(ref _aborted, 1) != 0)
        {
            return;
        }

        lock (SendLock)
        {
            CloseSendsLocked();
        }

        _keepAlive?.Dispose();
        _closeFlushed.TrySetResult();

        // Fails the pending read and write; the loops report it, and the connection ignores reports after its abort.
        _socket.Dispose();
    }

    public override void Dispose() => _stream.Dispose();

    /// <summary>Reports the end once; the connection's abort is idempotent, so a second report is harmless anyway.</summary>
    private void Report(Exception reason)
    {
        if (!IsAborted)
        {
            _sink.OnTransportClosed(reason);
        }
    }
}
