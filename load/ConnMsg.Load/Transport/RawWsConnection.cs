using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;

namespace ConnMsg.Load.Transport;

/// <summary>
/// A pipelined client-side WebSocket over a raw <see cref="Socket"/>: requests are framed and masked straight
/// into one send buffer and written in one call per batch; answers are parsed out of a receive buffer in place.
/// Nothing on the steady-state path allocates.
/// </summary>
/// <remarks>
/// Thread-safety: the receive loop runs on one task. Writers must hold <see cref="SendLock"/> while they append
/// frames and call <see cref="FlushAsync"/>; the receive loop takes it too, to answer pings and closes.
/// </remarks>
public sealed partial class RawWsConnection : IAsyncDisposable
{
    private const int MaxFrameHeader = 14;
    private const int MaxMessageSize = 16 * 1024 * 1024;

    private readonly Socket _socket;
    private byte[] _send;
    private int _sendLength;
    private ulong _maskState;
    private int _closed;

    private RawWsConnection(Socket socket, int receiveBufferSize, int sendBufferSize)
    {
        _socket = socket;
        _receive = new byte[receiveBufferSize];
        _send = new byte[sendBufferSize];
        // Masking keys need not be cryptographically strong for a load driver; a seeded xorshift keeps them cheap.
        _maskState = (ulong)Random.Shared.NextInt64() | 1;
    }

    /// <summary>Held by whoever appends frames and flushes.</summary>
    public SemaphoreSlim SendLock { get; } = new(1, 1);

    /// <summary>The subprotocol the server selected, or null.</summary>
    public string? SubProtocol { get; private set; }

    /// <summary>Free for the owner of the connection (a scenario's per-connection state).</summary>
    public object? Tag { get; set; }

    /// <summary>Bytes appended since the last flush.</summary>
    public int PendingSendBytes => _sendLength;

    /// <summary>Opens a TCP connection and performs the RFC 6455 opening handshake offering <c>connmsg.v1</c>.</summary>
    /// <exception cref="IOException">The server refused the upgrade or closed the connection.</exception>
    public static async Task<RawWsConnection> ConnectAsync(
        WsTarget target, CancellationToken cancellationToken, int receiveBufferSize = 16 * 1024, int sendBufferSize = 4 * 1024)
    {
        var socket = new Socket(target.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(target.EndPoint, cancellationToken);
            var connection = new RawWsConnection(socket, receiveBufferSize, sendBufferSize);
            await connection.HandshakeAsync(target, cancellationToken);
            return connection;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reserves room for one text frame whose payload is at most <paramref name="maxPayloadLength"/> bytes and
    /// returns the span to write the payload into; complete it with <see cref="CommitText"/>.
    /// </summary>
    public Span<byte> BeginText(int maxPayloadLength)
    {
        int header = HeaderLength(maxPayloadLength);
        EnsureSendCapacity(header + maxPayloadLength);
        return _send.AsSpan(_sendLength + header, maxPayloadLength);
    }

    /// <summary>Frames and masks the <paramref name="payloadLength"/> bytes written after <see cref="BeginText"/>.</summary>
    public void CommitText(int maxPayloadLength, int payloadLength) =>
        CommitFrame(0x1, maxPayloadLength, payloadLength);

    /// <summary>Appends a complete masked text frame holding <paramref name="payload"/>.</summary>
    public void AppendText(ReadOnlySpan<byte> payload)
    {
        payload.CopyTo(BeginText(payload.Length));
        CommitText(payload.Length, payload.Length);
    }

    /// <summary>Writes everything appended since the last flush in one send. Call with <see cref="SendLock"/> held.</summary>
    public async ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        int offset = 0;
        while (offset < _sendLength)
        {
            offset += await _socket.SendAsync(_send.AsMemory(offset, _sendLength - offset), SocketFlags.None, cancellationToken);
        }

        _sendLength = 0;
    }

    /// <summary>Sends a close frame (1000) if none was sent yet; the receive loop ends when the server answers.</summary>
    public async ValueTask CloseAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        await SendLock.WaitAsync(cancellationToken);
        try
        {
            Span<byte> code = BeginControl(0x8, 2);
            BinaryPrimitives.WriteUInt16BigEndian(code, 1000);
            CommitFrame(0x8, 2, 2);
            await FlushAsync(cancellationToken);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already gone: nothing to close.
        }
        finally
        {
            SendLock.Release();
        }
    }

    /// <summary>Closes the socket at once, without a closing handshake.</summary>
    public ValueTask DisposeAsync()
    {
        Interlocked.Exchange(ref _closed, 1);
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }

    private static int HeaderLength(int payloadLength) => payloadLength switch
    {
        <= 125 => 6,
        <= ushort.MaxValue => 8,
        _ => MaxFrameHeader,
    };

    private Span<byte> BeginControl(int opcode, int payloadLength)
    {
        Debug.Assert(opcode >= 0x8 && payloadLength <= 125, "control frames carry at most 125 bytes");
        return BeginText(payloadLength);
    }

    private void CommitFrame(int opcode, int reservedPayloadLength, int payloadLength)
    {
        int reservedHeader = HeaderLength(reservedPayloadLength);
        int header = HeaderLength(payloadLength);
        int payloadStart = _sendLength + header;
        if (header != reservedHeader)
        {
            // RFC 6455 §5.2 wants the minimal length encoding, so a shorter-than-reserved payload moves left.
            _send.AsSpan(_sendLength + reservedHeader, payloadLength).CopyTo(_send.AsSpan(payloadStart));
        }

        Span<byte> frame = _send.AsSpan(_sendLength);
        frame[0] = (byte)(0x80 | opcode);
        if (payloadLength <= 125)
        {
            frame[1] = (byte)(0x80 | payloadLength);
        }
        else if (payloadLength <= ushort.MaxValue)
        {
            frame[1] = 0x80 | 126;
            BinaryPrimitives.WriteUInt16BigEndian(frame[2..], (ushort)payloadLength);
        }
        else
        {
            frame[1] = 0x80 | 127;
            BinaryPrimitives.WriteUInt64BigEndian(frame[2..], (ulong)payloadLength);
        }

        uint key = NextMaskKey();
        BinaryPrimitives.WriteUInt32LittleEndian(frame[(header - 4)..], key);
        WsMask.Apply(_send.AsSpan(payloadStart, payloadLength), key);
        _sendLength = payloadStart + payloadLength;
    }

    private uint NextMaskKey()
    {
        ulong x = _maskState;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        _maskState = x;
        return (uint)(x >> 16);
    }

    private void EnsureSendCapacity(int additional)
    {
        if (_sendLength + additional > _send.Length)
        {
            Array.Resize(ref _send, Math.Max(_send.Length * 2, _sendLength + additional));
        }
    }
}
