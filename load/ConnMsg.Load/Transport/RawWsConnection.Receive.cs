using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;

namespace ConnMsg.Load.Transport;

public sealed partial class RawWsConnection
{
    private byte[] _receive;
    private int _receiveStart;
    private int _receiveEnd;
    private byte[]? _fragments;
    private int _fragmentsLength;
    private byte[]? _pendingPong;
    private int _pendingPongLength;
    private bool _pongPending;
    private bool _closeReceived;

    /// <summary>Why the receive loop ended: null for a normal close, otherwise a short description.</summary>
    public string? Fault { get; private set; }

    /// <summary>
    /// Reads until the server closes, delivering every complete text message to <paramref name="handler"/>.
    /// Pings are answered; a close is echoed. Never throws for a connection that simply goes away.
    /// </summary>
    public async Task RunReceiveLoopAsync(IWsMessageHandler handler, CancellationToken cancellationToken)
    {
        try
        {
            // Bytes that arrived with the handshake response are parsed before the first receive.
            bool first = true;
            while (!_closeReceived)
            {
                if (!first || _receiveEnd == _receiveStart)
                {
                    MakeRoomToReceive();
                    int n = await _socket.ReceiveAsync(_receive.AsMemory(_receiveEnd), SocketFlags.None, cancellationToken);
                    if (n == 0)
                    {
                        if (Volatile.Read(ref _closed) == 0)
                        {
                            Fault ??= "connection closed without a close frame";
                        }

                        return;
                    }

                    _receiveEnd += n;
                }

                first = false;
                if (!ParseFrames(handler, Stopwatch.GetTimestamp()))
                {
                    return;
                }

                if (_pongPending || _closeReceived)
                {
                    await SendControlRepliesAsync(cancellationToken);
                }

                await handler.OnReceiveBatchEndAsync(this);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
        {
            if (Volatile.Read(ref _closed) == 0)
            {
                Fault ??= e.Message;
            }
        }
    }

    /// <summary>Parses every complete frame in the buffer; false on a protocol violation by the server.</summary>
    private bool ParseFrames(IWsMessageHandler handler, long now)
    {
        while (true)
        {
            ReadOnlySpan<byte> buffer = _receive.AsSpan(_receiveStart, _receiveEnd - _receiveStart);
            if (buffer.Length < 2)
            {
                return true;
            }

            bool fin = (buffer[0] & 0x80) != 0;
            int opcode = buffer[0] & 0x0F;
            if ((buffer[0] & 0x70) != 0 || (buffer[1] & 0x80) != 0)
            {
                Fault = "server frame with reserved bits or a mask";
                return false;
            }

            int headerLength = 2;
            long length = buffer[1] & 0x7F;
            if (length == 126)
            {
                if (buffer.Length < 4)
                {
                    return true;
                }

                length = BinaryPrimitives.ReadUInt16BigEndian(buffer[2..]);
                headerLength = 4;
            }
            else if (length == 127)
            {
                if (buffer.Length < 10)
                {
                    return true;
                }

                length = (long)BinaryPrimitives.ReadUInt64BigEndian(buffer[2..]);
                headerLength = 10;
            }

            // Check the declared length before buffering any of it.
            if (length is < 0 or > MaxMessageSize)
            {
                Fault = $"server frame of {length} bytes exceeds the driver's limit";
                return false;
            }

            if (buffer.Length < headerLength + length)
            {
                EnsureReceiveFits(headerLength + (int)length);
                return true;
            }

            ReadOnlySpan<byte> payload = buffer.Slice(headerLength, (int)length);
            _receiveStart += headerLength + (int)length;
            switch (opcode)
            {
                case 0x1 when fin && _fragmentsLength == 0:
                    handler.OnMessage(this, payload, now);
                    break;
                case 0x1:
                case 0x0:
                    AppendFragment(payload);
                    if (fin)
                    {
                        handler.OnMessage(this, _fragments.AsSpan(0, _fragmentsLength), now);
                        _fragmentsLength = 0;
                    }

                    break;
                case 0x2:
                    Fault = "binary message from the server";
                    return false;
                case 0x8:
                    _closeReceived = true;
                    if (payload.Length >= 2)
                    {
                        CloseStatus = BinaryPrimitives.ReadUInt16BigEndian(payload);
                    }

                    return true;
                case 0x9:
                    if (payload.Length > 125)
                    {
                        Fault = "ping longer than 125 bytes";
                        return false;
                    }

                    // Only the latest ping needs its pong (RFC 6455 §5.5.3).
                    _pendingPong ??= new byte[125];
                    payload.CopyTo(_pendingPong);
                    _pendingPongLength = payload.Length;
                    _pongPending = true;

                    break;
                case 0xA:
                    break;
                default:
                    Fault = $"unknown opcode {opcode}";
                    return false;
            }
        }
    }

    /// <summary>The close code the server sent, when it sent one.</summary>
    public int? CloseStatus { get; private set; }

    private async ValueTask SendControlRepliesAsync(CancellationToken cancellationToken)
    {
        await SendLock.WaitAsync(cancellationToken);
        try
        {
            if (_pongPending)
            {
                int length = _pendingPongLength;
                _pendingPong.AsSpan(0, length).CopyTo(BeginControl(0xA, length));
                CommitFrame(0xA, length, length);
                _pongPending = false;
            }

            if (_closeReceived && Interlocked.Exchange(ref _closed, 1) == 0)
            {
                Span<byte> code = BeginControl(0x8, 2);
                BinaryPrimitives.WriteUInt16BigEndian(code, (ushort)(CloseStatus ?? 1000));
                CommitFrame(0x8, 2, 2);
            }

            await FlushAsync(cancellationToken);
        }
        finally
        {
            SendLock.Release();
        }
    }

    private void AppendFragment(ReadOnlySpan<byte> payload)
    {
        if (_fragments is null || _fragmentsLength + payload.Length > _fragments.Length)
        {
            Array.Resize(ref _fragments, Math.Max((_fragments?.Length ?? 4096) * 2, _fragmentsLength + payload.Length));
        }

        payload.CopyTo(_fragments.AsSpan(_fragmentsLength));
        _fragmentsLength += payload.Length;
    }

    private void MakeRoomToReceive()
    {
        if (_receiveStart == _receiveEnd)
        {
            _receiveStart = _receiveEnd = 0;
            return;
        }

        if (_receiveEnd == _receive.Length)
        {
            // Move the partial frame to the front; it is small unless a large message is arriving.
            int remaining = _receiveEnd - _receiveStart;
            Buffer.BlockCopy(_receive, _receiveStart, _receive, 0, remaining);
            _receiveStart = 0;
            _receiveEnd = remaining;
            if (_receiveEnd == _receive.Length)
            {
                Array.Resize(ref _receive, _receive.Length * 2);
            }
        }
    }

    private void EnsureReceiveFits(int frameLength)
    {
        if (frameLength > _receive.Length)
        {
            int remaining = _receiveEnd - _receiveStart;
            var bigger = new byte[Math.Max(_receive.Length * 2, frameLength)];
            Buffer.BlockCopy(_receive, _receiveStart, bigger, 0, remaining);
            _receive = bigger;
            _receiveStart = 0;
            _receiveEnd = remaining;
        }
    }
}
