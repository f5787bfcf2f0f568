using ConnMsg.Transport;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ConnMsg.Hosting;

/// <summary>Puts ConnMsg's socket transport under Kestrel.</summary>
public static class ConnMsgTransportExtensions
{
    /// <summary>
    /// Makes Kestrel accept TCP connections through ConnMsg's socket transport instead of its own: each connection's
    /// pipes read and write the socket directly, with no <c>Pipe</c> or send and receive loops between them, and a held
    /// connection keeps no buffer. Unix domain sockets and inherited handles stay on Kestrel's socket transport.
    /// Options bind from the configuration section <c>ConnMsg:Transport</c>, then <paramref name="configure"/>.
    /// </summary>
    /// <remarks>
    /// Reads complete on the thread that saw the socket readable, as with Kestrel's <c>UnsafePreferInlineScheduling</c>:
    /// connection handlers that block synchronously should not use it.
    /// </remarks>
    public static IWebHostBuilder UseConnMsgTransport(this IWebHostBuilder builder, Action<ConnMsgTransportOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.ConfigureServices(services =>
        {
            OptionsBuilder<ConnMsgTransportOptions> options = ValidatedOptions.Add(services, "ConnMsg:Transport", configure, static o => o.Validate());

            // Frames are parsed once whole, so the transport must be able to buffer the largest one.
            options.Configure<IOptions<ConnMsgOptions>>((transport, connmsg) =>
                transport.MaxReadBufferSize = (int)Math.Max(transport.MaxReadBufferSize, Math.Min(connmsg.Value.MaxMessageSize + 64L * 1024, int.MaxValue)));

            // Kestrel tries the transports registered last first.
            services.AddSingleton<IConnectionListenerFactory, ConnMsgTransportFactory>();
        });
    }
}
