using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ConnMsg.Transport;

/// <summary>
/// Kestrel's way in to ConnMsg's socket transport: binds TCP end points (IPv4 and IPv6); Kestrel's own socket transport
/// keeps Unix domain sockets and inherited handles.
/// </summary>
internal sealed class ConnMsgTransportFactory(IOptions<ConnMsgTransportOptions> options, ILoggerFactory loggerFactory) : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    /// <inheritdoc />
    public bool CanBind(EndPoint endpoint) => endpoint is IPEndPoint;

    /// <inheritdoc />
    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        if (endpoint is not IPEndPoint ip)
        {
            throw new NotSupportedException($"ConnMsg's transport binds TCP end points only, not {endpoint.GetType().Name}.");
        }

        return new ValueTask<IConnectionListener>(SocketListener.Bind(ip, options.Value, loggerFactory.CreateLogger("ConnMsg.Transport")));
    }
}
