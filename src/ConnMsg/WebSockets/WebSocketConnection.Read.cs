using ConnMsg.Diagnostics;
using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Runtime.InteropServices;

namespace ConnMsg.WebSockets;

internal sealed partial class WebSocketConnection
{
    // Reassembly of a fragmented message; rented on its first fragment, returned when it completes.
    private byte[]? _assembly;
    private int _assembled;
    private WebSocketOpcode _messageOpcode; // Continuation = no fragmented message in progress
    private Utf8Validator _utf8;
    private bool _closeReceived;
    private long _checkedPrefix; // payload bytes of the first incomplete frame already unmasked and UTF-8-checked
    private long _messageDeadlineMs = long.MaxValue; // when the message being received must be whole; MaxValue when none is

    /// <summary>Handles every complete frame in <paramref name="buffer"/>. Returns true when the read loop must stop.</summary>
    private bool ProcessFrames(in ReadOnlySequence<byte> buffer, out SequencePosition consumed)
    {
        var reader = new SequenceReader<byte>(buffer);
        int frames = 0;
        bool messageEnded = false;
        try
        {
            while (true)
            {
                consumed = reader.Position;
                long maxPayload = _options.MaxMessageSize - _assembled;
                if (!FrameReader.TryReadHeader(ref reader, maxPayload, out FrameHeader header, out ushort error))
                {
                    if (error != CloseCode.None)
                    {
                        Fail(error);
                        return true;
                    }

                    TrackIncompleteMessage(reader.Remaining != 0, messageEnded);
                    return false;
                }

                // After our close frame only the peer's close matters (HandleFrame); until then a frame the message in
                // progress rules out fails here, at its header, rather than once a payload it would refuse has arrived.
                if (!_closeSent && SequenceError(header) is var violation and not CloseCode.None)
                {
                    Fail(violation);
                    return true;
                }

                if (reader.Remaining < header.PayloadLength)
                {
                    // Wait for the whole frame: its length is within MaxMessageSize, and the transport's
                    // read buffer is sized to hold that much (see ConnMsgServiceCollectionExtensions).
                    // Meanwhile text is checked as it arrives, so invalid UTF-8 fails fast, not at the frame's end.
                    if (CarriesText(header) && !ValidateArrivedPrefix(buffer.Slice(reader.Position), header.MaskKey))
                    {
                        return true;
                    }

                    reader.Rewind(header.HeaderLength);
                    TrackIncompleteMessage(partialFrame: true, messageEnded);
                    return false;
                }

                ReadOnlySequence<byte> payload = buffer.Slice(reader.Position, header.PayloadLength);
                reader.Advance(header.PayloadLength);
                consumed = reader.Position;
                frames++;
                long checkedPrefix = _checkedPrefix;
                _checkedPrefix = 0;
                Unmask(payload.Slice(checkedPrefix), header.MaskKey, (int)(checkedPrefix & 3));

                if (HandleFrame(header, payload, checkedPrefix))
                {
                    return true;
                }

                // A data message's last frame, or a control frame outside a fragmented message, ends what was being received.
                messageEnded |= _messageOpcode == WebSocketOpcode.Continuation;
            }
        }
        finally
        {
            _metrics.FramesIn(frames, reader.Consumed);
        }
    }

    /// <summary>
    /// Keeps the deadline of the message being received (<see cref="ConnMsgOptions.IncompleteMessageTimeout"/>), which
    /// <see cref="OnTick"/> enforces: it runs from the read that brought the message's first byte to the read that
    /// brings its last, control frames between fragments included, so neither bytes trickling in nor answered pings
    /// extend it. Called once per read, when the buffer ends; a read that ends between messages writes nothing.
    /// </summary>
    /// <param name="partialFrame">Bytes of a frame not yet whole are left in the buffer.</param>
    /// <param name="messageEnded">A message (or a lone control frame) ended in this read: what is pending began in it.</param>
    private void TrackIncompleteMessage(bool partialFrame, bool messageEnded)
    {
        if (!partialFrame && _messageOpcode == WebSocketOpcode.Continuation)
        {
            if (_messageDeadlineMs != long.MaxValue)
            {
                Volatile.Write(ref _messageDeadlineMs, long.MaxValue);
            }
        }
        else if (messageEnded || _messageDeadlineMs == long.MaxValue)
        {
            Volatile.Write(ref _messageDeadlineMs, _lastReceiveMs + (long)_options.IncompleteMessageTimeout.TotalMilliseconds);
        }
    }

    /// <summary>
    /// The close code for a data frame that the message in progress rules out, or <see cref="CloseCode.None"/>: a new
    /// message while a fragmented one is open or a continuation of nothing (RFC 6455 §5.4, 1002), binary (PROTOCOL.md §2,
    /// 1003). The header decides it, so a client cannot make the server buffer up to MaxMessageSize of a frame it refuses.
    /// </summary>
    private ushort SequenceError(in FrameHeader header) => header.Opcode switch
    {
        WebSocketOpcode.Text or WebSocketOpcode.Binary when _messageOpcode != WebSocketOpcode.Continuation => CloseCode.ProtocolError,
        WebSocketOpcode.Binary => CloseCode.UnsupportedData,
        WebSocketOpcode.Continuation when _messageOpcode == WebSocketOpcode.Continuation => CloseCode.ProtocolError,
        _ => CloseCode.None,
    };

    /// <summary>True when the frame's payload is (part of) a text message, so it can be UTF-8-checked before it is whole.</summary>
    private bool CarriesText(in FrameHeader header) => header.Opcode switch
    {
        WebSocketOpcode.Text => _messageOpcode == WebSocketOpcode.Continuation,
        WebSocketOpcode.Continuation => _messageOpcode == WebSocketOpcode.Text,
        _ => false,
    };

    /// <summary>
    /// Unmasks and validates the payload bytes of an incomplete frame that arrived since the last look. The bytes stay in
    /// the pipe (nothing is consumed), and <see cref="_checkedPrefix"/> remembers how far they were handled, so that the
    /// complete frame is neither unmasked nor validated twice.
    /// </summary>
    private bool ValidateArrivedPrefix(in ReadOnlySequence<byte> arrived, uint mask)
    {
        if (arrived.Length <= _checkedPrefix)
        {
            return true;
        }

        if (_checkedPrefix == 0 && _messageOpcode == WebSocketOpcode.Continuation)
        {
            _utf8.Reset(); // first look at the first frame of a message
        }

        ReadOnlySequence<byte> fresh = arrived.Slice(_checkedPrefix);
        Unmask(fresh, mask, (int)(_checkedPrefix & 3));
        _checkedPrefix = arrived.Length;
        return ValidateUtf8(fresh, endOfMessage: false);
    }

    private static void Unmask(in ReadOnlySequence<byte> payload, uint mask, int maskIndex)
    {
        foreach (ReadOnlyMemory<byte> segment in payload)
        {
            // The bytes are ours until AdvanceTo: unmasking where they lie avoids a copy.
            Span<byte> span = MemoryMarshal.AsMemory(segment).Span;
            maskIndex = Masking.Apply(span, mask, maskIndex);
        }
    }

    /// <summary>Returns true when the connection must stop reading.</summary>
    /// <param name="header">The frame's header.</param>
    /// <param name="payload">The whole unmasked payload.</param>
    /// <param name="checkedPrefix">Payload bytes already UTF-8-validated while the frame was arriving.</param>
    private bool HandleFrame(in FrameHeader header, in ReadOnlySequence<byte> payload, long checkedPrefix)
    {
        if (_closeSent)
        {
            // After our close frame only the peer's close matters (RFC 6455 §5.5.1).
            return header.Opcode == WebSocketOpcode.Close && HandleClose(payload);
        }

        switch (header.Opcode)
        {
            case WebSocketOpcode.Ping:
                Span<byte> copy = stackalloc byte[(int)payload.Length];
                payload.CopyTo(copy);
                Enqueue(OutboundFrame.Control(WebSocketOpcode.Pong, copy));
                return false;

            case WebSocketOpcode.Pong:
                return false; // unsolicited pongs are allowed (§5.5.3); receiving it already refreshed liveness

            case WebSocketOpcode.Close:
                return HandleClose(payload);

            case WebSocketOpcode.Text:
                // A text frame inside a fragmented message, and any binary frame, failed at the header (SequenceError):
                // _closeSent only ever turns true, so a frame handled here was checked there, with this _messageOpcode.
                Debug.Assert(_messageOpcode == WebSocketOpcode.Continuation);
                if (checkedPrefix == 0)
                {
                    _utf8.Reset();
                }

                if (header.Fin)
                {
                    if (!ValidateUtf8(payload.Slice(checkedPrefix), endOfMessage: true))
                    {
                        return true;
                    }

                    // The common case: a one-frame message handed on where it lies, without a copy.
                    _session!.OnTextMessage(payload);
                    return false;
                }

                _messageOpcode = WebSocketOpcode.Text;
                return !AppendFragment(payload, checkedPrefix, endOfMessage: false);

            default: // Continuation of the open message; one with nothing to continue failed at the header
                Debug.Assert(header.Opcode == WebSocketOpcode.Continuation && _messageOpcode != WebSocketOpcode.Continuation);
                if (!AppendFragment(payload, checkedPrefix, header.Fin))
                {
                    return true;
                }

                if (header.Fin)
                {
                    var message = new ReadOnlySequence<byte>(_assembly!, 0, _assembled);
                    _session!.OnTextMessage(message);
                    ReleaseAssembly();
                }

                return false;
        }
    }

    private bool ValidateUtf8(in ReadOnlySequence<byte> payload, bool endOfMessage)
    {
        if (payload.IsSingleSegment)
        {
            if (_utf8.TryValidate(payload.FirstSpan, endOfMessage))
            {
                return true;
            }
        }
        else
        {
            bool ok = true;
            foreach (ReadOnlyMemory<byte> segment in payload)
            {
                if (!(ok = _utf8.TryValidate(segment.Span, endOfMessage: false)))
                {
                    break;
                }
            }

            // An empty final piece reports a code point left unfinished at the end of the message.
            if (ok && (!endOfMessage || _utf8.TryValidate(default, endOfMessage: true)))
            {
                return true;
            }
        }

        Fail(CloseCode.InvalidPayload);
        return false;
    }

    private bool AppendFragment(in ReadOnlySequence<byte> payload, long checkedPrefix, bool endOfMessage)
    {
        if (!ValidateUtf8(payload.Slice(checkedPrefix), endOfMessage))
        {
            return false;
        }

        int needed = _assembled + (int)payload.Length;
        if (_assembly is null || _assembly.Length < needed)
        {
            byte[] bigger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, Math.Min(_options.MaxMessageSize, Math.Max(4096, needed * 2))));
            if (_assembly is not null)
            {
                _assembly.AsSpan(0, _assembled).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(_assembly);
            }

            _assembly = bigger;
        }

        payload.CopyTo(_assembly.AsSpan(_assembled));
        _assembled = needed;
        return true;
    }

    private void ReleaseAssembly()
    {
        _messageOpcode = WebSocketOpcode.Continuation;
        _assembled = 0;
        byte[]? assembly = _assembly;
        _assembly = null;
        if (assembly is not null)
        {
            ArrayPool<byte>.Shared.Return(assembly);
        }
    }

    /// <summary>The peer's close frame (RFC 6455 §5.5.1, §7.4): validate, echo, then stop.</summary>
    private bool HandleClose(in ReadOnlySequence<byte> payload)
    {
        _closeReceived = true;
        if (payload.Length == 0)
        {
            _metrics.CloseReceived(CloseCode.NoStatus);
            Close(CloseCode.NoStatus, default);
            return true;
        }

        Span<byte> bytes = stackalloc byte[(int)payload.Length];
        payload.CopyTo(bytes);
        ushort code = bytes.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(bytes) : (ushort)0;
        _metrics.CloseReceived(code);
        if (bytes.Length == 1 || !CloseCode.IsValidOnWire(code))
        {
            Fail(CloseCode.ProtocolError);
            return true;
        }

        if (!System.Text.Unicode.Utf8.IsValid(bytes[2..]))
        {
            Fail(CloseCode.InvalidPayload);
            return true;
        }

        Close(code, default);
        return true;
    }
}
