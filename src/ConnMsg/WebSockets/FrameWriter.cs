using System.Buffers.Binary;

namespace ConnMsg.WebSockets;

/// <summary>Writes unmasked server frame headers (RFC 6455 §5.2).</summary>
internal static class FrameWriter
{
    /// <summary>Largest server header: 2 + 8, no mask.</summary>
    public const int MaxHeaderLength = 10;

    /// <summary>Length of the header for a payload of <paramref name="payloadLength"/> bytes.</summary>
    public static int HeaderLength(long payloadLength) => payloadLength switch
    {
        <= 125 => 2,
        <= ushort.MaxValue => 4,
        _ => 10,
    };

    /// <summary>Writes a final, unmasked frame header into <paramref name="destination"/>; returns the bytes written.</summary>
    public static int WriteHeader(Span<byte> destination, WebSocketOpcode opcode, long payloadLength)
    {
        destination[0] = (byte)(0x80 | (byte)opcode);
        if (payloadLength <= 125)
        {
            destination[1] = (byte)payloadLength;
            return 2;
        }

        if (payloadLength <= ushort.MaxValue)
        {
            destination[1] = 126;
            BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)payloadLength);
            return 4;
        }

        destination[1] = 127;
        BinaryPrimitives.WriteUInt64BigEndian(destination[2..], (ulong)payloadLength);
        return 10;
    }
}
