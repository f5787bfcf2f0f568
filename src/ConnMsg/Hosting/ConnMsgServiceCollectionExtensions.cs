using System.Diagnostics.Metrics;
using ConnMsg.Diagnostics;
using ConnMsg.Messaging;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace ConnMsg.Hosting;

/// <summary>Registers ConnMsg in a service collection.</summary>
public static class ConnMsgServiceCollectionExtensions
{
    /// <summary>Name of the meter that ConnMsg's instruments are created on.</summary>
    public const string MeterName = "ConnMsg";

    /// <summary>
    /// Adds the ConnMsg server: options bound from the configuration section <c>ConnMsg</c> then <paramref name="configure"/>,
    /// the connection handler (attach it with <see cref="ConnMsgListenOptionsExtensions.UseConnMsg"/>), the publisher,
    /// metrics, and graceful shutdown.
    /// </summary>
    public static ConnMsgBuilder AddConnMsg(this IServiceCollection services, Action<ConnMsgOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ValidatedOptions.Add(services, "ConnMsg", configure, static o => o.Validate(), ReplaceDefaultLists);

        // Frames are parsed once whole, so the transport must be able to buffer the largest one.
        services.AddOptions<SocketTransportOptions>().Configure<IOptions<ConnMsgOptions>>((socket, connmsg) =>
        {
            long needed = connmsg.Value.MaxMessageSize + 64L * 1024;
            if (socket.MaxReadBufferSize is long current && current < needed)
            {
                socket.MaxReadBufferSize = needed;
            }
        });

        // Called again (a library and its host both adding ConnMsg), it must extend the first registration, not hand
        // back a builder whose handlers the server never sees.
        ConnMsgEndpointSettings? settings = services.LastOrDefault(d => d.ServiceType == typeof(ConnMsgEndpointSettings))
            ?.ImplementationInstance as ConnMsgEndpointSettings;
        if (settings is null)
        {
            settings = new ConnMsgEndpointSettings();
            services.AddSingleton(settings);
        }

        services.AddMetrics();
        services.TryAddSingleton(sp => new ConnMsgMeter(sp.GetRequiredService<IMeterFactory>().Create(MeterName)));
        services.TryAddSingleton(sp => new TransportMetrics(sp.GetRequiredService<ConnMsgMeter>().Meter));
        services.TryAddSingleton(sp => new MessagingMetrics(sp.GetRequiredService<ConnMsgMeter>().Meter));
        services.TryAddSingleton<ConnMsgApplication>();
        services.TryAddSingleton<ConnectionTicker>();
        services.TryAddSingleton(sp => new ConnMsgConnectionHandler(
            sp.GetRequiredService<IOptions<ConnMsgOptions>>(), sp.GetRequiredService<ConnMsgEndpointSettings>(), sp.GetRequiredService<ConnMsgApplication>(),
            sp.GetRequiredService<ConnectionTicker>(), sp.GetRequiredService<TransportMetrics>(), sp.GetRequiredService<MessagingMetrics>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<ConnMsgConnectionHandler>>()));
        services.TryAddSingleton<IIndPublisher, IndPublisher>();
        services.TryAddSingleton<IConnMsgServer, ConnMsgServer>();
        services.AddHostedService<ConnMsgHostedService>();
        return new ConnMsgBuilder(services, settings);
    }

    /// <summary>
    /// A list set in configuration replaces the default, as every other option does. The binder adds the configured
    /// items to the list the options already hold (an array's too), so <c>ConnMsg__HistoryTopicPrefixes__0=chat.</c>
    /// kept <c>history.</c> as well, and the gateway's appsettings.json, which names <c>history.</c>, had it twice. It
    /// also ignores an empty list (JSON <c>[]</c>), which left no way to turn history off, and merges the lists of two
    /// sources index by index. The list of the last source that sets one is taken whole, empty included (see
    /// <see cref="ValidatedOptions.LastSetList"/>); no source setting it leaves the default; code configures after this
    /// either way.
    /// </summary>
    private static void ReplaceDefaultLists(ConnMsgOptions options, IConfiguration configuration, string section)
    {
        if (ValidatedOptions.LastSetList(configuration, ConfigurationPath.Combine(section, nameof(ConnMsgOptions.HistoryTopicPrefixes))) is { } prefixes)
        {
            options.HistoryTopicPrefixes = prefixes;
        }
    }

    private sealed class ConnMsgMeter(Meter meter)
    {
        public Meter Meter { get; } = meter;
    }
}
