using System.Buffers;
using System.Buffers.Binary;
using System.Net.WebSockets;
using System.Text;
using System.Text.Unicode;

namespace ConnMsg.Client.Internal;

internal sealed partial class SocketTransport
{
    /// <summary>A receive buffer grown beyond this by a large message goes back to the pool once it is empty.</summary>
    private const int MaxKeptReceiveBuffer = 256 * 1024;

    private byte[] _receiveBuffer;
    private int _receiveStart;
    private int _receiveEnd;

    /// <summary>Bytes the next frame needs in the buffer (from <see cref="_receiveStart"/>) before it can be handled.</summary>
    private int _needed;

    /// <summary>A fragmented text message being reassembled (rare: the gateway sends whole messages).</summary>
    private byte[]? _fragments;
    private int _fragmentsLength;
    private bool _inFragmentedMessage;

    private long _lastReceived = Environment.TickCount64;
    private long _pingSentAt;

    /// <summary>Set by the frame handler when the connection must end; the loop then finishes the close handshake.</summary>
    private Exception? _ending;
    private int _failCode;

    private async Task ReceiveLoopAsync()
    {
        try
        {
            while (true)
            {
                if (!HandleFrames())
                {
                    await EndAsync().ConfigureAwait(false);
                    return;
                }

                MakeRoom();
                int read = await _stream.ReadAsync(_receiveBuffer.AsMemory(_receiveEnd)).ConfigureAwait(false);
                if (read == 0)
                {
                    Report(new WebSocketException(WebSocketError.ConnectionClosedPrematurely,
                        "The remote party closed the WebSocket connection without completing the close handshake."));
                    return;
                }

                _receiveEnd += read;
                Volatile.Write(ref _lastReceived, Environment.TickCount64);
            }
        }
        catch (Exception e)
        {
            Report(e);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(_receiveBuffer);
            _receiveBuffer = [];
            if (_fragments is not null)
            {
                ArrayPool<byte>.Shared.Return(_fragments);
            }
        }
    }

    /// <summary>Compacts the buffer, and grows it when the next frame is larger than the room left.</summary>
    private void MakeRoom()
    {
        int unread = _receiveEnd - _receiveStart;
        if (unread == 0 && _receiveBuffer.Length > MaxKeptReceiveBuffer)
        {
            ArrayPool<byte>.Shared.Return(_receiveBuffer);
            _receiveBuffer = ArrayPool<byte>.Shared.Rent(InitialBufferSize);
        }
        else if (_receiveStart + _needed > _receiveBuffer.Length || _receiveEnd == _receiveBuffer.Length)
        {
            byte[] target = _needed > _receiveBuffer.Length
                ? ArrayPool<byte>.Shared.Rent(Math.Max(_needed, _receiveBuffer.Length * 2))
                : _receiveBuffer;
            _receiveBuffer.AsSpan(_receiveStart, unread).CopyTo(target);
            if (target != _receiveBuffer)
            {
                ArrayPool<byte>.Shared.Return(_receiveBuffer);
                _receiveBuffer = target;
            }
        }
        else
        {
            return;
        }

        _receiveEnd = unread;
        _receiveStart = 0;
        if (_receiveEnd == _receiveBuffer.Length)
        {
            // Cannot happen while frames are handled as soon as they are complete; but a read into no room would
            // return 0 and look like the peer's FIN, so never risk it.
            byte[] bigger = ArrayPool<byte>.Shared.Rent(_receiveBuffer.Length * 2);
            _receiveBuffer.AsSpan(0, _receiveEnd).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_receiveBuffer);
            _receiveBuffer = bigger;
        }
    }

    /// <summary>
    /// Handles every complete frame in the buffer with sends corked. False when the connection must end
    /// (<see cref="_ending"/> says why).
    /// </summary>
    private bool HandleFrames()
    {
        Cork();
        try
        {
            while (!IsAborted)
            {
                var unread = _receiveBuffer.AsSpan(_receiveStart, _receiveEnd - _receiveStart);
                var status = WebSocketFrame.TryReadHeader(unread, out var header, out string? error);
                if (status == FrameStatus.Incomplete)
                {
                    _needed = WebSocketFrame.MaxClientHeaderSize;
                    return true;
                }

                if (status == FrameStatus.Invalid)
                {
                    return Fail(1002, error!);
                }

                // Every limit is checked on the declared length, before a byte of the payload is buffered.
                if (!header.IsControl && !CheckDataFrame(header))
                {
                    return false;
                }

                long frameLength = header.HeaderLength + header.PayloadLength;
                if (unread.Length < frameLength)
                {
                    _needed = (int)frameLength;
                    return true;
                }

                var payload = unread.Slice(header.HeaderLength, (int)header.PayloadLength);
                _receiveStart += (int)frameLength;
                if (!HandleFrame(header, payload))
                {
                    return false;
                }
            }

            return true;
        }
        finally
        {
            _sink.OnReceiveBatchEnd();
            Uncork();
        }
    }

    private bool CheckDataFrame(FrameHeader header)
    {
        if (header.Opcode == WebSocketFrame.Binary)
        {
            // Binary messages are not part of v1 (PROTOCOL §2): the peer speaks something else.
            return Fail(1003, "Binary messages are not part of connmsg.v1.");
        }

        if (header.Opcode == WebSocketFrame.Continuation ? !_inFragmentedMessage : _inFragmentedMessage)
        {
            return Fail(1002, _inFragmentedMessage
                ? "A new message started before the fragmented one was finished."
                : "A continuation frame arrived outside a fragmented message.");
        }

        long total = header.PayloadLength + (header.Opcode == WebSocketFrame.Continuation ? _fragmentsLength : 0);
        if (total > _maxIncoming)
        {
            return Fail(1009, $"An inbound message exceeded {_maxIncoming} bytes.");
        }

        return true;
    }

    private bool HandleFrame(FrameHeader header, ReadOnlySpan<byte> payload)
    {
        switch (header.Opcode)
        {
            case WebSocketFrame.Text when header.Fin:
                return Deliver(payload);
            case WebSocketFrame.Text:
                _inFragmentedMessage = true;
                _fragmentsLength = 0;
                AppendFragment(payload);
                return true;
            case WebSocketFrame.Continuation:
                AppendFragment(payload);
                if (!header.Fin)
                {
                    return true;
                }

                _inFragmentedMessage = false;
                return Deliver(_fragments.AsSpan(0, _fragmentsLength));
            case WebSocketFrame.Ping:
                SendControl(WebSocketFrame.Pong, payload);
                return true;
            case WebSocketFrame.Pong:
                return true;
            default:
                return OnClose(payload);
        }
    }

    private void AppendFragment(ReadOnlySpan<byte> payload)
    {
        if (_fragments is null || _fragments.Length - _fragmentsLength < payload.Length)
        {
            byte[] bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_fragmentsLength + payload.Length, InitialBufferSize));
            if (_fragments is not null)
            {
                _fragments.AsSpan(0, _fragmentsLength).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(_fragments);
            }

            _fragments = bigger;
        }

        payload.CopyTo(_fragments.AsSpan(_fragmentsLength));
        _fragmentsLength += payload.Length;
    }

    private bool Deliver(ReadOnlySpan<byte> message)
    {
        // The whole message is in hand before dispatch, so validating it in one vectorised pass is as strict as
        // validating per fragment, and cheaper. Invalid UTF-8 in a text message is 1007 (RFC 6455 §8.1).
        if (!Utf8.IsValid(message))
        {
            return Fail(1007, "A text message is not valid UTF-8.");
        }

        _sink.OnMessage(message);
        return true;
    }

    private bool OnClose(ReadOnlySpan<byte> payload)
    {
        if (payload.Length == 1)
        {
            return Fail(1002, "A close frame has a 1-byte payload.");
        }

        int? code = payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(payload) : null;
        if (code is { } value && !WebSocketFrame.IsValidCloseCode(value))
        {
            return Fail(1002, $"A close frame has the invalid code {value}.");
        }

        var reason = payload.Length > 2 ? payload[2..] : default;
        if (!Utf8.IsValid(reason))
        {
            return Fail(1007, "A close frame's reason is not valid UTF-8.");
        }

        var status = code is { } c ? WebSocketFrame.AsStatus(c) : (WebSocketCloseStatus?)null;
        string description = Encoding.UTF8.GetString(reason);
        _failCode = 1000;
        _ending = new ConnMsgConnectionLostException($"The server closed the connection ({code} {status}: {description}).");
        return false;
    }

    private bool Fail(int code, string message)
    {
        _failCode = code;
        _ending = new ConnMsgConnectionLostException(message);
        return false;
    }

    /// <summary>Sends our close frame (unless we sent one already), waits briefly until it is written, then reports the end.</summary>
    private async Task EndAsync()
    {
        if (_ending is null)
        {
            // Aborted while dispatching; whoever aborted has reported.
            return;
        }

        if (TryQueueClose(_failCode))
        {
            // Bounded: a peer that stopped reading must not keep us from reporting.
            await Task.WhenAny(_closeFlushed.Task, Task.Delay(TimeSpan.FromSeconds(1))).ConfigureAwait(false);
        }

        Report(_ending);
    }
}
