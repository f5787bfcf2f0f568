using Microsoft.Extensions.Logging;

namespace ConnMsg.Diagnostics;

/// <summary>Log messages of the messaging layer, with fixed event ids.</summary>
internal static partial class MessagingLog
{
    [LoggerMessage(2001, LogLevel.Debug, "Connection {ConnectionId} opened from {RemoteEndPoint} on {Path}")]
    public static partial void ConnectionOpened(ILogger logger, string connectionId, string? remoteEndPoint, string path);

    [LoggerMessage(2002, LogLevel.Debug, "Connection {ConnectionId} closed")]
    public static partial void ConnectionClosed(ILogger logger, string connectionId);

    [LoggerMessage(2003, LogLevel.Error, "Handler for {Op} failed on connection {ConnectionId}")]
    public static partial void HandlerFailed(ILogger logger, string op, string connectionId, Exception exception);

    [LoggerMessage(2004, LogLevel.Warning, "Handler for {Op} returned without answering on connection {ConnectionId}")]
    public static partial void HandlerDidNotAnswer(ILogger logger, string op, string connectionId);

    [LoggerMessage(2005, LogLevel.Warning, "A connection callback failed on connection {ConnectionId}")]
    public static partial void CallbackFailed(ILogger logger, string connectionId, Exception exception);

    [LoggerMessage(2006, LogLevel.Information, "Draining: {Connections} connections, {InFlight} requests in flight")]
    public static partial void Draining(ILogger logger, long connections, long inFlight);

    [LoggerMessage(2007, LogLevel.Debug, "Request {Op} on connection {ConnectionId}")]
    public static partial void Request(ILogger logger, string op, string connectionId);

    [LoggerMessage(2008, LogLevel.Error, "Finishing a {Op} request failed on connection {ConnectionId}; the connection was aborted")]
    public static partial void FinishFailed(ILogger logger, string op, string connectionId, Exception exception);
}
