using System.Buffers;
using System.Buffers.Binary;

namespace ConnMsg.WebSockets;

/// <summary>Reads RFC 6455 frame headers sent by a client and enforces the rules that a header alone decides.</summary>
internal static class FrameReader
{
    /// <summary>Largest header a client can send: 2 + 8 (64-bit length) + 4 (mask).</summary>
    public const int MaxHeaderLength = 14;

    /// <summary>
    /// Reads one frame header. Returns <c>true</c> with the header consumed; <c>false</c> with <paramref name="error"/> = 0
    /// when more bytes are needed (nothing consumed); <c>false</c> with a close code when the header breaks a rule.
    /// </summary>
    /// <param name="reader">The input; advanced past the header only on success.</param>
    /// <param name="maxPayload">Largest payload a data frame may declare here; a larger one fails with 1009 before any of it is read.</param>
    /// <param name="header">The decoded header.</param>
    /// <param name="error">The close code of the violation, or <see cref="CloseCode.None"/>.</param>
    public static bool TryReadHeader(ref SequenceReader<byte> reader, long maxPayload, out FrameHeader header, out ushort error)
    {
        header = default;
        error = CloseCode.None;

        Span<byte> head = stackalloc byte[MaxHeaderLength];
        int available = (int)Math.Min(reader.Remaining, MaxHeaderLength);
        if (available < 2)
        {
            return false;
        }

        // Copy only the few header bytes (at most 14) so that a header split across segments reads like one in a single span.
        if (!reader.TryCopyTo(head[..available]))
        {
            return false;
        }

        byte b0 = head[0];
        byte b1 = head[1];
        bool fin = (b0 & 0x80) != 0;
        var opcode = (WebSocketOpcode)(b0 & 0x0F);

        // Extension negotiation is never accepted, so any RSV bit is a violation (§5.2).
        if ((b0 & 0x70) != 0)
        {
            error = CloseCode.ProtocolError;
            return false;
        }

        bool isControl = ((byte)opcode & 0x8) != 0;
        switch (opcode)
        {
            case WebSocketOpcode.Continuation:
            case WebSocketOpcode.Text:
            case WebSocketOpcode.Binary:
            case WebSocketOpcode.Close:
            case WebSocketOpcode.Ping:
            case WebSocketOpcode.Pong:
                break;
            default:
                error = CloseCode.ProtocolError;
                return false;
        }

        bool masked = (b1 & 0x80) != 0;
        if (!masked)
        {
            // §5.1: a server must close the connection on an unmasked client frame.
            error = CloseCode.ProtocolError;
            return false;
        }

        int len7 = b1 & 0x7F;
        if (isControl && (!fin || len7 > 125))
        {
            // §5.5: control frames are never fragmented and carry at most 125 bytes.
            error = CloseCode.ProtocolError;
            return false;
        }

        int lengthBytes = len7 switch { 126 => 2, 127 => 8, _ => 0 };
        int headerLength = 2 + lengthBytes + 4;
        if (available < headerLength)
        {
            return false;
        }

        long payloadLength = lengthBytes switch
        {
            2 => BinaryPrimitives.ReadUInt16BigEndian(head.Slice(2, 2)),
            8 => (long)BinaryPrimitives.ReadUInt64BigEndian(head.Slice(2, 8)),
            _ => len7,
        };

        if (payloadLength < 0)
        {
            // §5.2: the most significant bit of a 64-bit length must be 0.
            error = CloseCode.ProtocolError;
            return false;
        }

        if (!isControl && payloadLength > maxPayload)
        {
            error = CloseCode.MessageTooBig;
            return false;
        }

        uint mask = BinaryPrimitives.ReadUInt32LittleEndian(head.Slice(2 + lengthBytes, 4));
        header = new FrameHeader(fin, opcode, masked, mask, payloadLength, headerLength);
        reader.Advance(headerLength);
        return true;
    }
}
