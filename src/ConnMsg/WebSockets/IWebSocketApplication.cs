using System.Buffers;

namespace ConnMsg.WebSockets;

/// <summary>The layer above the transport: opens a session for each accepted WebSocket connection.</summary>
internal interface IWebSocketApplication
{
    /// <summary>Called once the 101 response is written; the session may enqueue frames at once. Reading starts when this completes.</summary>
    ValueTask<IWebSocketSession> OpenAsync(WebSocketConnection connection);
}

/// <summary>What the transport hands a connection's complete, validated text messages to.</summary>
/// <remarks>Messages arrive one at a time, from the connection's read loop.</remarks>
internal interface IWebSocketSession
{
    /// <summary>
    /// A complete text message, valid UTF-8. The bytes belong to the transport and are valid only until this returns:
    /// a handler that completes later must copy what it keeps.
    /// </summary>
    void OnTextMessage(in ReadOnlySequence<byte> message);

    /// <summary>
    /// The read loop has handed on every message of one read (batch) and is about to write their answers: the moment
    /// for work the session deferred to once per batch rather than once per message.
    /// </summary>
    void OnReadBatchEnd()
    {
    }

    /// <summary>Periodic housekeeping (request timeouts); <paramref name="nowMs"/> is <see cref="Environment.TickCount64"/>.</summary>
    void OnTick(long nowMs);

    /// <summary>The connection is gone; nothing more can be sent. Called exactly once.</summary>
    ValueTask OnClosedAsync();
}
