namespace ConnMsg.Baseline.Middleware;

/// <summary>The PROTOCOL.md defaults this baseline enforces.</summary>
internal static class BaselineLimits
{
    /// <summary>The subprotocol name of PROTOCOL.md §2.</summary>
    public const string SubProtocol = "connmsg.v1";

    /// <summary>Seconds between keep-alive pings.</summary>
    public const int KeepAliveSeconds = 15;

    /// <summary>Largest accepted message (close 1009 above).</summary>
    public const int MaxMessageSize = 64 * 1024;

    /// <summary>Requests one connection may have in flight.</summary>
    public const int MaxInFlight = 256;

    /// <summary>Queued outbound bytes before a slow consumer is closed with 1013.</summary>
    public const long MaxOutboundBytes = 4 * 1024 * 1024;

    /// <summary>Inds kept per <c>history.</c> topic.</summary>
    public const int HistoryLength = 1000;
}
