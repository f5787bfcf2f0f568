namespace ConnMsg.WebSockets;

/// <summary>Close status codes used by ConnMsg (RFC 6455 §7.4, PROTOCOL.md §6).</summary>
public static class CloseCode
{
    /// <summary>No code: used internally for "no violation".</summary>
    public const ushort None = 0;
    /// <summary>Normal closure.</summary>
    public const ushort Normal = 1000;
    /// <summary>Going away: shutdown after drain, or keep-alive expired.</summary>
    public const ushort GoingAway = 1001;
    /// <summary>Protocol error in framing.</summary>
    public const ushort ProtocolError = 1002;
    /// <summary>Binary message received (not part of connmsg.v1).</summary>
    public const ushort UnsupportedData = 1003;
    /// <summary>Reserved: no status code was present. Never sent on the wire.</summary>
    public const ushort NoStatus = 1005;
    /// <summary>Reserved: the connection closed without a close frame. Never sent on the wire.</summary>
    public const ushort Abnormal = 1006;
    /// <summary>Text message was not valid UTF-8.</summary>
    public const ushort InvalidPayload = 1007;
    /// <summary>Policy violation.</summary>
    public const ushort PolicyViolation = 1008;
    /// <summary>Message larger than <see cref="ConnMsgOptions.MaxMessageSize"/>.</summary>
    public const ushort MessageTooBig = 1009;
    /// <summary>Unexpected server fault.</summary>
    public const ushort InternalError = 1011;
    /// <summary>Slow consumer: outbound queue exceeded <see cref="ConnMsgOptions.MaxOutboundBytes"/>.</summary>
    public const ushort TryAgainLater = 1013;

    /// <summary>Whether a peer may send <paramref name="code"/> in a close frame (RFC 6455 §7.4).</summary>
    public static bool IsValidOnWire(ushort code) => code switch
    {
        >= 1000 and <= 1003 => true,
        >= 1007 and <= 1014 => true,
        >= 3000 and <= 4999 => true,
        _ => false,
    };
}
