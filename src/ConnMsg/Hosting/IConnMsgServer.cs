using ConnMsg.Diagnostics;
using ConnMsg.Messaging;

namespace ConnMsg.Hosting;

/// <summary>The running server, for operators and tests: its connections, state and metrics.</summary>
public interface IConnMsgServer
{
    /// <summary>Whether the server is draining (shutting down).</summary>
    bool IsDraining { get; }

    /// <summary>The open connections.</summary>
    IReadOnlyCollection<ConnMsgConnection> Connections { get; }

    /// <summary>Subscribers of <paramref name="topic"/> now.</summary>
    int SubscriberCount(string topic);

    /// <summary>Transport counters.</summary>
    TransportMetrics TransportMetrics { get; }

    /// <summary>Messaging counters.</summary>
    MessagingMetrics MessagingMetrics { get; }

    /// <summary>Drops every connection without a close handshake (simulates a network failure).</summary>
    void AbortAll();
}

/// <summary>Default <see cref="IConnMsgServer"/>.</summary>
internal sealed class ConnMsgServer(ConnMsgApplication application, TransportMetrics transport, MessagingMetrics messaging) : IConnMsgServer
{
    public bool IsDraining => application.IsDraining;
    public IReadOnlyCollection<ConnMsgConnection> Connections => application.Connections.ToArray();
    public int SubscriberCount(string topic) => application.Topics.SubscriberCount(topic);
    public TransportMetrics TransportMetrics => transport;
    public MessagingMetrics MessagingMetrics => messaging;
    public void AbortAll() => application.AbortAll();
}
