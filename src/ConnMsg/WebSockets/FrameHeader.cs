namespace ConnMsg.WebSockets;

/// <summary>A decoded RFC 6455 frame header (§5.2).</summary>
internal readonly struct FrameHeader
{
    public FrameHeader(bool fin, WebSocketOpcode opcode, bool masked, uint maskKey, long payloadLength, int headerLength)
    {
        Fin = fin;
        Opcode = opcode;
        Masked = masked;
        MaskKey = maskKey;
        PayloadLength = payloadLength;
        HeaderLength = headerLength;
    }

    public bool Fin { get; }
    public WebSocketOpcode Opcode { get; }
    public bool Masked { get; }
    /// <summary>The four masking bytes as read from the wire, little-endian so that byte i of the key is bits 8i…8i+7.</summary>
    public uint MaskKey { get; }
    public long PayloadLength { get; }
    public int HeaderLength { get; }
    public bool IsControl => ((byte)Opcode & 0x8) != 0;
}
