using System.Buffers;
using ConnMsg.WebSockets;

namespace ConnMsg.Bench.Infrastructure;

/// <summary>
/// A transport-only application: every text message goes back as one text frame, with no envelope. Pits our
/// frame codec against <see cref="System.Net.WebSockets.ManagedWebSocket"/> doing the same.
/// </summary>
internal sealed class EchoTransportApplication : IWebSocketApplication
{
    public ValueTask<IWebSocketSession> OpenAsync(WebSocketConnection connection) => new(new Session(connection));

    private sealed class Session(WebSocketConnection connection) : IWebSocketSession
    {
        public void OnTextMessage(in ReadOnlySequence<byte> message)
        {
            int length = (int)message.Length;
            OutboundFrame frame = OutboundFrame.Rent(length);
            message.CopyTo(frame.PayloadSpan);
            frame.Seal(WebSocketOpcode.Text, length);
            connection.Enqueue(frame);
        }

        public void OnTick(long nowMs)
        {
        }

        public ValueTask OnClosedAsync() => default;
    }
}
