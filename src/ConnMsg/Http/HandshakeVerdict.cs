namespace ConnMsg.Http;

/// <summary>The application's answer to a WebSocket handshake (PROTOCOL.md §7): accept, or refuse with 401 or 403.</summary>
public readonly struct HandshakeVerdict
{
    private HandshakeVerdict(int status, string? reason)
    {
        Status = status;
        Reason = reason;
    }

    /// <summary>0 when accepted, else the HTTP status to refuse with.</summary>
    public int Status { get; }

    /// <summary>The one-line reason sent with a refusal.</summary>
    public string? Reason { get; }

    /// <summary>Whether the handshake is accepted.</summary>
    public bool IsAccepted => Status == 0;

    /// <summary>Accept the connection.</summary>
    public static HandshakeVerdict Accept => default;

    /// <summary>Refuse with 401: who the client is, is unknown.</summary>
    public static HandshakeVerdict Unauthorized(string reason = "unauthenticated") => new(401, reason);

    /// <summary>Refuse with 403: the client is not allowed.</summary>
    public static HandshakeVerdict Forbidden(string reason = "forbidden") => new(403, reason);

    /// <summary>What a hook that threw is taken to have answered: 500, with a reason that tells the client nothing of the failure.</summary>
    internal static HandshakeVerdict Failed => new(500, "handshake check failed");

    /// <summary>What a hook that did not decide within the handshake timeout is taken to have answered: 503.</summary>
    internal static HandshakeVerdict TimedOut => new(503, "handshake check timed out");
}
