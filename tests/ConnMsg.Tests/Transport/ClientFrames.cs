using System.Buffers.Binary;
using System.Text;

namespace ConnMsg.Tests.Transport;

/// <summary>How a frame's payload length is written on the wire.</summary>
public enum LengthEncoding
{
    /// <summary>The shortest form, as RFC 6455 §5.2 requires of senders.</summary>
    Minimal,
    Bits16,
    Bits64,
}

/// <summary>
/// Builds client frames byte by byte, including frames that break RFC 6455 on purpose (RSV bits, reserved
/// opcodes, no mask, oversized control frames, lying lengths). Written from §5.2 independently of the server's code.
/// </summary>
public static class ClientFrames
{
    public const byte Continuation = 0x0, Text = 0x1, Binary = 0x2, Close = 0x8, Ping = 0x9, Pong = 0xA;

    /// <summary>The masking key used unless a test picks one; bytes 0x37 0xFA 0x21 0x3D on the wire.</summary>
    public static readonly byte[] DefaultMask = [0x37, 0xFA, 0x21, 0x3D];

    public static byte[] Frame(byte opcode, ReadOnlySpan<byte> payload, bool fin = true, int rsv = 0, bool masked = true,
        byte[]? mask = null, LengthEncoding encoding = LengthEncoding.Minimal)
    {
        byte[] header = Header(opcode, payload.Length, fin, rsv, masked, mask, encoding);
        var frame = new byte[header.Length + payload.Length];
        header.CopyTo(frame, 0);
        Span<byte> body = frame.AsSpan(header.Length);
        payload.CopyTo(body);
        if (masked)
        {
            mask ??= DefaultMask;
            for (int i = 0; i < body.Length; i++)
            {
                body[i] ^= mask[i & 3];
            }
        }

        return frame;
    }

    /// <summary>Only the header of a frame that declares <paramref name="payloadLength"/> bytes; for limit tests that never send the payload.</summary>
    public static byte[] Header(byte opcode, long payloadLength, bool fin = true, int rsv = 0, bool masked = true,
        byte[]? mask = null, LengthEncoding encoding = LengthEncoding.Minimal)
    {
        if (encoding == LengthEncoding.Minimal)
        {
            encoding = payloadLength switch { <= 125 => LengthEncoding.Minimal, <= ushort.MaxValue => LengthEncoding.Bits16, _ => LengthEncoding.Bits64 };
        }

        var header = new List<byte>(14) { (byte)((fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0F)) };
        byte maskBit = masked ? (byte)0x80 : (byte)0;
        switch (encoding)
        {
            case LengthEncoding.Minimal:
                header.Add((byte)(maskBit | payloadLength));
                break;
            case LengthEncoding.Bits16:
                header.Add((byte)(maskBit | 126));
                header.Add((byte)(payloadLength >> 8));
                header.Add((byte)payloadLength);
                break;
            default:
                header.Add((byte)(maskBit | 127));
                var len = new byte[8];
                BinaryPrimitives.WriteUInt64BigEndian(len, (ulong)payloadLength);
                header.AddRange(len);
                break;
        }

        if (masked)
        {
            header.AddRange(mask ?? DefaultMask);
        }

        return header.ToArray();
    }

    public static byte[] TextFrame(string text, bool fin = true) => Frame(Text, Encoding.UTF8.GetBytes(text), fin);

    public static byte[] CloseFrame(ushort code, ReadOnlySpan<byte> reason = default)
    {
        var payload = new byte[2 + reason.Length];
        BinaryPrimitives.WriteUInt16BigEndian(payload, code);
        reason.CopyTo(payload.AsSpan(2));
        return Frame(Close, payload);
    }

    /// <summary>An echo request whose JSON text is exactly <paramref name="totalBytes"/> long (at least 40).</summary>
    public static string EchoRequestOfLength(int totalBytes, int id = 1)
    {
        string prefix = $$"""{"type":"req","id":{{id}},"op":"echo","data":""";
        const string suffix = "\"}";
        int fill = totalBytes - prefix.Length - 1 - suffix.Length;
        if (fill < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(totalBytes));
        }

        string text = prefix + "\"" + new string('x', fill) + suffix;
        return text;
    }

    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();
}
