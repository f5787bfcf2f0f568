using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;

namespace ConnMsg.Bench.Infrastructure;

/// <summary>Builds what a client puts on the wire: masked frames (RFC 6455 §5.2, §5.3).</summary>
internal static class ClientFrames
{
    public const uint MaskKey = 0x37FA213D;

    /// <summary>
    /// Writes <paramref name="frame"/> to a client's side of an in-memory connection and flushes it; on inline pipes the
    /// server's read loop handles the frame inside this call.
    /// </summary>
    public static void Send(PipeWriter client, byte[] frame)
    {
        client.Write(frame);
        ValueTask<FlushResult> flush = client.FlushAsync();
        if (!flush.IsCompletedSuccessfully)
        {
            flush.AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>A final, masked text frame carrying <paramref name="payload"/>.</summary>
    public static byte[] MaskedText(ReadOnlySpan<byte> payload) => Masked(0x1, payload, fin: true);

    public static byte[] Masked(byte opcode, ReadOnlySpan<byte> payload, bool fin)
    {
        int lengthBytes = payload.Length <= 125 ? 0 : payload.Length <= ushort.MaxValue ? 2 : 8;
        byte[] frame = new byte[2 + lengthBytes + 4 + payload.Length];
        frame[0] = (byte)((fin ? 0x80 : 0) | opcode);
        switch (lengthBytes)
        {
            case 0:
                frame[1] = (byte)(0x80 | payload.Length);
                break;
            case 2:
                frame[1] = 0x80 | 126;
                BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), (ushort)payload.Length);
                break;
            default:
                frame[1] = 0x80 | 127;
                BinaryPrimitives.WriteUInt64BigEndian(frame.AsSpan(2), (ulong)payload.Length);
                break;
        }

        int maskAt = 2 + lengthBytes;
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(maskAt), MaskKey);
        for (int i = 0; i < payload.Length; i++)
        {
            frame[maskAt + 4 + i] = (byte)(payload[i] ^ (byte)(MaskKey >> (8 * (i & 3))));
        }

        return frame;
    }
}
