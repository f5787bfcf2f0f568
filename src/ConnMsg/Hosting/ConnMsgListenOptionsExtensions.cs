using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace ConnMsg.Hosting;

/// <summary>Attaches ConnMsg to a Kestrel endpoint.</summary>
public static class ConnMsgListenOptionsExtensions
{
    /// <summary>Serves ConnMsg (WebSocket on <see cref="ConnMsgOptions.Path"/>, plus <c>/healthz</c>, <c>/metrics</c>) on this endpoint.</summary>
    public static ListenOptions UseConnMsg(this ListenOptions listenOptions)
    {
        ArgumentNullException.ThrowIfNull(listenOptions);
        listenOptions.UseConnectionHandler<ConnMsgConnectionHandler>();
        return listenOptions;
    }
}
