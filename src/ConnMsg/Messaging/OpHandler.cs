namespace ConnMsg.Messaging;

/// <summary>Handles one request; answers through <paramref name="request"/> or by throwing <see cref="ConnMsgRejectException"/>.</summary>
public delegate ValueTask ConnMsgRequestHandler(ConnMsgRequest request);

/// <summary>A registered operation: its name, its handler, and its request counters.</summary>
/// <remarks>Counters are updated with <see cref="Interlocked"/>; thread-safe.</remarks>
internal sealed class OpHandler
{
    public OpHandler(string name, ConnMsgRequestHandler handler)
    {
        Name = name;
        Handler = handler;
    }

    public string Name { get; }
    public ConnMsgRequestHandler Handler { get; }
    public long Confirmed;
    public long Rejected;
}
