using System.Net;
using Microsoft.Extensions.Logging;

namespace ConnMsg.Diagnostics;

/// <summary>Log messages of the transport, with fixed event ids.</summary>
/// <remarks>
/// The peer is passed as its <see cref="EndPoint"/>, not as text: the generated methods check the level before anything
/// is formatted, and a refusal logged at Debug on a server that logs at Information must not cost a string.
/// </remarks>
internal static partial class TransportLog
{
    [LoggerMessage(1001, LogLevel.Debug, "Handshake refused from {RemoteEndPoint}: {Status} {Reason}")]
    public static partial void HandshakeRefused(ILogger logger, EndPoint? remoteEndPoint, int status, string reason);

    [LoggerMessage(1002, LogLevel.Debug, "Handshake timed out: no complete request from {RemoteEndPoint} within the handshake timeout")]
    public static partial void HandshakeTimedOut(ILogger logger, EndPoint? remoteEndPoint);

    [LoggerMessage(1003, LogLevel.Warning, "Connection {ConnectionId} faulted")]
    public static partial void ConnectionFault(ILogger logger, string connectionId, Exception exception);

    [LoggerMessage(1004, LogLevel.Warning, "Connection {ConnectionId} closed as a slow consumer: more than {MaxOutboundBytes} bytes queued")]
    public static partial void SlowConsumer(ILogger logger, string connectionId, long maxOutboundBytes);

    [LoggerMessage(1005, LogLevel.Error, "A callback registered on ConnectionClosed of connection {ConnectionId} threw")]
    public static partial void ConnectionClosedCallbackFailed(ILogger logger, string connectionId, Exception exception);

    [LoggerMessage(1007, LogLevel.Error, "The handshake hook failed for a client at {RemoteEndPoint}; the handshake was refused with 500")]
    public static partial void HandshakeHookFailed(ILogger logger, EndPoint? remoteEndPoint, Exception exception);

    [LoggerMessage(1009, LogLevel.Warning, "The handshake hook did not decide within the handshake timeout for a client at {RemoteEndPoint}; the handshake was refused with 503")]
    public static partial void HandshakeHookTimedOut(ILogger logger, EndPoint? remoteEndPoint);

    [LoggerMessage(1010, LogLevel.Error, "The handshake hook failed for a client at {RemoteEndPoint} after it had run past its deadline or the client had left; that handshake was already refused with 503 or abandoned")]
    public static partial void HandshakeHookFailedLate(ILogger logger, EndPoint? remoteEndPoint, Exception exception);

    [LoggerMessage(1008, LogLevel.Debug, "Client at {RemoteEndPoint} left before its request was answered")]
    public static partial void HandshakeAbandoned(ILogger logger, EndPoint? remoteEndPoint);

    [LoggerMessage(1006, LogLevel.Warning, "Accepting a connection failed ({SocketError}); trying again in {DelayMs} ms")]
    public static partial void AcceptFailed(ILogger logger, System.Net.Sockets.SocketError socketError, int delayMs, Exception exception);
}
