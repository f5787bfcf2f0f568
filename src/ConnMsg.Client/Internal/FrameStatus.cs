namespace ConnMsg.Client.Internal;

/// <summary>Outcome of <see cref="WebSocketFrame.TryReadHeader"/>.</summary>
internal enum FrameStatus
{
    Incomplete,
    Complete,
    Invalid,
}
