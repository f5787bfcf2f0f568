namespace ConnMsg.Client.Internal;

/// <summary>A parsed frame header (RFC 6455 §5.2).</summary>
/// <param name="Fin">Final fragment of its message.</param>
/// <param name="Opcode">One of the <see cref="WebSocketFrame"/> opcodes.</param>
/// <param name="PayloadLength">Declared payload length; checked against the limits before anything is buffered.</param>
/// <param name="HeaderLength">Bytes of header before the payload.</param>
internal readonly record struct FrameHeader(bool Fin, byte Opcode, long PayloadLength, int HeaderLength)
{
    public bool IsControl => (Opcode & 0x8) != 0;
}
