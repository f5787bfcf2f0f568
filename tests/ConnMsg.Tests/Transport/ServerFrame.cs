using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace ConnMsg.Tests.Transport;

/// <summary>A frame as the server sent it, decoded by the test (not by the server's code).</summary>
public sealed record ServerFrame(bool Fin, int Rsv, byte Opcode, bool Masked, byte[] Payload)
{
    public bool IsClose => Opcode == ClientFrames.Close;

    /// <summary>The status code of a close frame, or null when it carries none.</summary>
    public ushort? CloseCode => IsClose && Payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(Payload) : null;

    public string Text => Encoding.UTF8.GetString(Payload);

    public override string ToString() => $"op={Opcode:X} fin={Fin} len={Payload.Length}" + (IsClose ? $" code={CloseCode}" : "");

    /// <summary>Parses one frame from the start of <paramref name="buffer"/>; false when incomplete.</summary>
    public static bool TryParse(ref ReadOnlySequence<byte> buffer, out ServerFrame? frame)
    {
        frame = null;
        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryRead(out byte b0) || !reader.TryRead(out byte b1))
        {
            return false;
        }

        long length = b1 & 0x7F;
        if (length == 126)
        {
            if (!reader.TryReadBigEndian(out short l16))
            {
                return false;
            }

            length = (ushort)l16;
        }
        else if (length == 127)
        {
            if (!reader.TryReadBigEndian(out long l64))
            {
                return false;
            }

            length = l64;
        }

        bool masked = (b1 & 0x80) != 0;
        Span<byte> mask = stackalloc byte[4];
        if (masked && !reader.TryCopyTo(mask))
        {
            return false;
        }

        if (masked)
        {
            reader.Advance(4);
        }

        if (reader.Remaining < length)
        {
            return false;
        }

        byte[] payload = reader.UnreadSequence.Slice(0, length).ToArray();
        if (masked)
        {
            for (int i = 0; i < payload.Length; i++)
            {
                payload[i] ^= mask[i & 3];
            }
        }

        reader.Advance(length);
        frame = new ServerFrame((b0 & 0x80) != 0, (b0 >> 4) & 7, (byte)(b0 & 0x0F), masked, payload);
        buffer = buffer.Slice(reader.Position);
        return true;
    }
}
