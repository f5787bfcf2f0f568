using ConnMsg.WebSockets;
using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace ConnMsg.Diagnostics;

/// <summary>
/// Counters of the WebSocket transport. Kept as plain fields updated with <see cref="Interlocked"/> (once per read or
/// write batch, not per frame) and exposed both as <see cref="System.Diagnostics.Metrics"/> observable instruments
/// (meter <c>ConnMsg</c>) and on <c>/metrics</c>.
/// </summary>
/// <remarks>Thread-safe.</remarks>
public sealed class TransportMetrics
{
    private long _connectionsOpen;
    private long _connectionsAccepted;
    private long _framesIn, _bytesIn, _framesOut, _bytesOut;
    private long _slowConsumerCloses;
    private long _publisherYields;
    private long _abnormalClosures;
    private long _handshakesAbandoned;
    private readonly ConcurrentDictionary<string, StrongBox> _refused = new();
    private readonly ConcurrentDictionary<ushort, StrongBox> _closesSent = new();
    private readonly ConcurrentDictionary<ushort, StrongBox> _closesReceived = new();

    internal sealed class StrongBox
    {
        public long Value;
    }

    /// <summary>Creates the counters and registers their instruments on <paramref name="meter"/>.</summary>
    public TransportMetrics(Meter meter)
    {
        meter.CreateObservableUpDownCounter("connmsg.connections.open", () => Interlocked.Read(ref _connectionsOpen), description: "WebSocket connections open");
        meter.CreateObservableCounter("connmsg.connections.accepted", () => Interlocked.Read(ref _connectionsAccepted), description: "WebSocket handshakes accepted");
        meter.CreateObservableCounter("connmsg.handshakes.refused", () => Snapshot(_refused, "reason", static reason => reason), description: "Handshakes refused, by reason");
        meter.CreateObservableCounter("connmsg.handshakes.abandoned", () => Interlocked.Read(ref _handshakesAbandoned),
            description: "Connections the client ended, or that failed, before their request was answered");
        meter.CreateObservableCounter("connmsg.frames.in", () => Interlocked.Read(ref _framesIn));
        meter.CreateObservableCounter("connmsg.frames.out", () => Interlocked.Read(ref _framesOut));
        meter.CreateObservableCounter("connmsg.bytes.in", () => Interlocked.Read(ref _bytesIn), unit: "By");
        meter.CreateObservableCounter("connmsg.bytes.out", () => Interlocked.Read(ref _bytesOut), unit: "By");
        meter.CreateObservableCounter("connmsg.closes.sent", () => Snapshot(_closesSent, "code", CodeLabel), description: "Close frames sent, by code");
        meter.CreateObservableCounter("connmsg.closes.received", () => Snapshot(_closesReceived, "code", ReceivedCodeLabel), description: "Close frames received, by code");
        meter.CreateObservableCounter("connmsg.slow_consumer.closes", () => Interlocked.Read(ref _slowConsumerCloses));
        meter.CreateObservableCounter("connmsg.publisher.yields", () => PublisherYields,
            description: "Times a publisher was held back because a subscriber's queue held more than PublisherYieldBytes");
    }

    /// <summary>Connections currently open.</summary>
    public long ConnectionsOpen => Interlocked.Read(ref _connectionsOpen);

    internal void ConnectionOpened()
    {
        Interlocked.Increment(ref _connectionsOpen);
        Interlocked.Increment(ref _connectionsAccepted);
    }

    internal void ConnectionClosed() => Interlocked.Decrement(ref _connectionsOpen);
    internal void HandshakeRefused(string reason) => Interlocked.Increment(ref _refused.GetOrAdd(reason, _ => new StrongBox()).Value);

    /// <summary>Counts a connection that ended before its request was answered: not a refusal, the client left.</summary>
    internal void HandshakeAbandoned() => Interlocked.Increment(ref _handshakesAbandoned);
    internal void CloseSent(ushort code) => Interlocked.Increment(ref _closesSent.GetOrAdd(code, _ => new StrongBox()).Value);
    /// <summary>
    /// Counts a peer's close frame. The code is the peer's to choose, so it is bucketed: one series per code RFC 6455
    /// defines, one for each of the 3000s and 4000s, one for anything invalid. Otherwise a client could make up to
    /// 65,536 series, and every scrape would carry them.
    /// </summary>
    internal void CloseReceived(ushort code) => Interlocked.Increment(ref _closesReceived.GetOrAdd(ReceivedKey(code), _ => new StrongBox()).Value);
    internal void SlowConsumer() => Interlocked.Increment(ref _slowConsumerCloses);

    /// <summary>Counts a publisher held back by the fan-out flow control: at most once per read batch or application publish.</summary>
    internal void PublisherYield() => Interlocked.Increment(ref _publisherYields);

    /// <summary>Publishers held back so far (<c>connmsg.publisher.yields</c>).</summary>
    internal long PublisherYields => Interlocked.Read(ref _publisherYields);

    internal void AbnormalClosure() => Interlocked.Increment(ref _abnormalClosures);

    internal void FramesIn(int frames, long bytes)
    {
        if (frames > 0)
        {
            Interlocked.Add(ref _framesIn, frames);
            Interlocked.Add(ref _bytesIn, bytes);
        }
    }

    internal void FramesOut(int frames, long bytes)
    {
        if (frames > 0)
        {
            Interlocked.Add(ref _framesOut, frames);
            Interlocked.Add(ref _bytesOut, bytes);
        }
    }

    // 1005 never goes on the wire (RFC 6455 §7.4.1): it stands for a close frame without a code.
    // Keys of the received-code buckets that are no close code themselves.
    private const ushort InvalidCodes = 0, RegisteredCodes = 1, PrivateCodes = 2;

    private static ushort ReceivedKey(ushort code) => code switch
    {
        CloseCode.NoStatus => code,
        >= 3000 and <= 3999 => RegisteredCodes,
        >= 4000 and <= 4999 => PrivateCodes,
        _ => CloseCode.IsValidOnWire(code) ? code : InvalidCodes,
    };

    private static string CodeLabel(ushort code) => code == CloseCode.NoStatus ? "none" : code.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static string ReceivedCodeLabel(ushort key) => key switch
    {
        InvalidCodes => "invalid",
        RegisteredCodes => "3000-3999",
        PrivateCodes => "4000-4999",
        _ => CodeLabel(key),
    };

    private static IEnumerable<Measurement<long>> Snapshot<TKey>(ConcurrentDictionary<TKey, StrongBox> map, string label, Func<TKey, string> name) where TKey : notnull
    {
        foreach (KeyValuePair<TKey, StrongBox> pair in map)
        {
            yield return new Measurement<long>(Interlocked.Read(ref pair.Value.Value), new KeyValuePair<string, object?>(label, name(pair.Key)));
        }
    }

    internal void WritePrometheus(PrometheusWriter w)
    {
        w.Gauge("connmsg_connections_open", "WebSocket connections open.", ConnectionsOpen);
        w.Counter("connmsg_connections_accepted_total", "WebSocket handshakes accepted.", Interlocked.Read(ref _connectionsAccepted));
        w.LabelledCounter("connmsg_handshakes_refused_total", "Handshakes refused, by reason.", "reason", _refused.Select(p => (p.Key, Interlocked.Read(ref p.Value.Value))));
        w.Counter("connmsg_handshakes_abandoned_total", "Connections the client ended, or that failed, before their request was answered (health checks, port scans, clients that gave up).",
            Interlocked.Read(ref _handshakesAbandoned));
        w.Counter("connmsg_frames_in_total", "WebSocket frames received.", Interlocked.Read(ref _framesIn));
        w.Counter("connmsg_frames_out_total", "WebSocket frames sent.", Interlocked.Read(ref _framesOut));
        w.Counter("connmsg_bytes_in_total", "WebSocket bytes received (frames, headers included).", Interlocked.Read(ref _bytesIn));
        w.Counter("connmsg_bytes_out_total", "WebSocket bytes sent (frames, headers included).", Interlocked.Read(ref _bytesOut));
        w.LabelledCounter("connmsg_closes_sent_total", "Close frames sent, by code (none: an empty close frame).", "code", _closesSent.Select(p => (CodeLabel(p.Key), Interlocked.Read(ref p.Value.Value))));
        w.LabelledCounter("connmsg_closes_received_total", "Close frames received, by code (none: an empty close frame).", "code", _closesReceived.Select(p => (ReceivedCodeLabel(p.Key), Interlocked.Read(ref p.Value.Value))));
        w.Counter("connmsg_abnormal_closures_total", "Connections that ended without a close frame from the peer.", Interlocked.Read(ref _abnormalClosures));
        w.Counter("connmsg_slow_consumer_closes_total", "Connections closed with 1013 because their outbound queue overflowed.", Interlocked.Read(ref _slowConsumerCloses));
        w.Counter("connmsg_publisher_yields_total", "Times a publisher was held back because a subscriber's queue held more than PublisherYieldBytes.", PublisherYields);
    }
}
