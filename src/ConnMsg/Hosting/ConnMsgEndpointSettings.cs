using ConnMsg.Http;
using ConnMsg.Messaging;

namespace ConnMsg.Hosting;

/// <summary>What <see cref="ConnMsgBuilder"/> registered: handlers, hooks and static content. Frozen when the server starts.</summary>
internal sealed class ConnMsgEndpointSettings
{
    public Dictionary<string, ConnMsgRequestHandler> Handlers { get; } = new(StringComparer.Ordinal);
    public List<Func<ConnMsgConnection, CancellationToken, ValueTask>> OnConnected { get; } = new();
    public List<Func<ConnMsgConnection, ValueTask>> OnDisconnected { get; } = new();
    public Func<ConnMsgConnection, object>? StateFactory { get; set; }
    public Func<HttpRequestHead, CancellationToken, ValueTask<HandshakeVerdict>>? Handshake { get; set; }
    public Func<ConnMsgConnection, string, bool>? AuthorizeSubscribe { get; set; }
    public Action<ConnMsgConnection, string, ReadOnlyMemory<byte>>? OnInd { get; set; }
    public Dictionary<string, HttpResponse> StaticContent { get; } = new(StringComparer.Ordinal);
}
