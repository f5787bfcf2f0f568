using System.Buffers.Binary;

namespace ConnMsg.Bench.Baselines;

/// <summary>
/// The minimal decode of a client frame header from one contiguous span, with none of the RFC 6455 checks: the
/// lower bound of what a header read can cost.
/// </summary>
internal static class NaiveFrameHeader
{
    public static bool TryRead(ReadOnlySpan<byte> input, out long payloadLength, out uint mask, out int headerLength)
    {
        payloadLength = 0;
        mask = 0;
        headerLength = 0;
        if (input.Length < 2)
        {
            return false;
        }

        int len7 = input[1] & 0x7F;
        int lengthBytes = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
        headerLength = 2 + lengthBytes + 4;
        if (input.Length < headerLength)
        {
            return false;
        }

        payloadLength = lengthBytes switch
        {
            2 => BinaryPrimitives.ReadUInt16BigEndian(input[2..]),
            8 => (long)BinaryPrimitives.ReadUInt64BigEndian(input[2..]),
            _ => len7,
        };
        mask = BinaryPrimitives.ReadUInt32LittleEndian(input[(2 + lengthBytes)..]);
        return true;
    }
}
