using System.Buffers.Binary;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ConnMsg.Client.Internal;

/// <summary>RFC 6455 §5.2 framing, client side: writes masked frames, reads (unmasked) server frame headers.</summary>
/// <remarks>Stateless and thread-safe. The rules follow ManagedWebSocket: reserved bits, opcode set, masking, control frame limits.</remarks>
internal static class WebSocketFrame
{
    /// <summary>2 fixed bytes, up to 8 of extended length, 4 of mask.</summary>
    public const int MaxClientHeaderSize = 14;

    public const int MaxControlPayload = 125;

    public const byte Continuation = 0x0;
    public const byte Text = 0x1;
    public const byte Binary = 0x2;
    public const byte Close = 0x8;
    public const byte Ping = 0x9;
    public const byte Pong = 0xA;

    /// <summary>Writes one final (FIN) frame of <paramref name="opcode"/> with <paramref name="payload"/> masked by <paramref name="mask"/>.</summary>
    /// <returns>The bytes written: at most <see cref="MaxClientHeaderSize"/> + the payload's length.</returns>
    public static int WriteMasked(Span<byte> destination, byte opcode, ReadOnlySpan<byte> payload, uint mask)
    {
        destination[0] = (byte)(0x80 | opcode);
        int offset;
        if (payload.Length <= 125)
        {
            destination[1] = (byte)(0x80 | payload.Length);
            offset = 2;
        }
        else if (payload.Length <= ushort.MaxValue)
        {
            destination[1] = 0x80 | 126;
            BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)payload.Length);
            offset = 4;
        }
        else
        {
            destination[1] = 0x80 | 127;
            BinaryPrimitives.WriteUInt64BigEndian(destination[2..], (ulong)payload.Length);
            offset = 10;
        }

        // The mask's bytes go on the wire in little-endian order, so byte i of the payload is XORed with byte i % 4 of
        // the key as RFC 6455 §5.3 requires when the key is applied as little-endian words below.
        BinaryPrimitives.WriteUInt32LittleEndian(destination[offset..], mask);
        offset += 4;
        ApplyMask(payload, destination.Slice(offset, payload.Length), mask);
        return offset + payload.Length;
    }

    /// <summary>destination[i] = source[i] ^ key[i % 4], with the key's bytes in little-endian order.</summary>
    public static void ApplyMask(ReadOnlySpan<byte> source, Span<byte> destination, uint mask)
    {
        ulong mask64 = mask | ((ulong)mask << 32);
        ref byte src = ref MemoryMarshal.GetReference(source);
        ref byte dst = ref MemoryMarshal.GetReference(destination);
        int length = source.Length;
        int i = 0;
        if (Vector128.IsHardwareAccelerated && length >= Vector128<byte>.Count)
        {
            var maskVector = Vector128.Create(mask64).AsByte();
            for (; i <= length - Vector128<byte>.Count; i += Vector128<byte>.Count)
            {
                (Vector128.LoadUnsafe(ref src, (nuint)i) ^ maskVector).StoreUnsafe(ref dst, (nuint)i);
            }
        }

        if (BitConverter.IsLittleEndian)
        {
            for (; i <= length - sizeof(ulong); i += sizeof(ulong))
            {
                Unsafe.WriteUnaligned(ref Unsafe.Add(ref dst, i), Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref src, i)) ^ mask64);
            }
        }

        for (; i < length; i++)
        {
            Unsafe.Add(ref dst, i) = (byte)(Unsafe.Add(ref src, i) ^ (byte)(mask >> (8 * (i & 3))));
        }
    }

    /// <summary>
    /// Reads a server frame's header. Incomplete input returns <see cref="FrameStatus.Incomplete"/> and reads nothing;
    /// a violation returns <see cref="FrameStatus.Invalid"/> with the reason (the connection then closes with 1002).
    /// </summary>
    public static FrameStatus TryReadHeader(ReadOnlySpan<byte> buffer, out FrameHeader header, out string? error)
    {
        header = default;
        error = null;
        if (buffer.Length < 2)
        {
            return FrameStatus.Incomplete;
        }

        byte first = buffer[0];
        byte second = buffer[1];
        bool fin = (first & 0x80) != 0;
        byte opcode = (byte)(first & 0x0F);
        if ((first & 0x70) != 0)
        {
            // No extension was negotiated, so every reserved bit must be zero (§5.2).
            error = "A frame has a reserved bit set.";
            return FrameStatus.Invalid;
        }

        if ((second & 0x80) != 0)
        {
            error = "A server frame is masked (RFC 6455 §5.1).";
            return FrameStatus.Invalid;
        }

        bool control = (opcode & 0x8) != 0;
        if (opcode is not (Continuation or Text or Binary or Close or Ping or Pong))
        {
            error = $"A frame has the reserved opcode {opcode}.";
            return FrameStatus.Invalid;
        }

        int headerLength = 2;
        long payloadLength = second & 0x7F;
        if (payloadLength == 126)
        {
            if (buffer.Length < 4)
            {
                return FrameStatus.Incomplete;
            }

            payloadLength = BinaryPrimitives.ReadUInt16BigEndian(buffer[2..]);
            headerLength = 4;
        }
        else if (payloadLength == 127)
        {
            if (buffer.Length < 10)
            {
                return FrameStatus.Incomplete;
            }

            ulong length = BinaryPrimitives.ReadUInt64BigEndian(buffer[2..]);
            if ((length & (1UL << 63)) != 0)
            {
                error = "A frame's 64-bit length has its most significant bit set.";
                return FrameStatus.Invalid;
            }

            payloadLength = (long)length;
            headerLength = 10;
        }

        if (control && (!fin || payloadLength > MaxControlPayload))
        {
            error = "A control frame is fragmented or longer than 125 bytes.";
            return FrameStatus.Invalid;
        }

        header = new FrameHeader(fin, opcode, payloadLength, headerLength);
        return FrameStatus.Complete;
    }

    /// <summary>True for the close codes a peer may send (RFC 6455 §7.4).</summary>
    public static bool IsValidCloseCode(int code) => code switch
    {
        < 1000 or 1004 or 1005 or 1006 or 1015 => false,
        <= 1014 => true,
        < 3000 => false,
        <= 4999 => true,
        _ => false,
    };

    /// <summary>Maps a close status to the value a <see cref="WebSocketCloseStatus"/> formats as.</summary>
    public static WebSocketCloseStatus AsStatus(int code) => (WebSocketCloseStatus)code;
}
