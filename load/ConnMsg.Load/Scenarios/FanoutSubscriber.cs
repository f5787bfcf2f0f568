using System.Text;
using ConnMsg.Load.Metrics;
using ConnMsg.Load.Protocol;
using ConnMsg.Load.Transport;

namespace ConnMsg.Load.Scenarios;

/// <summary>
/// One subscriber connection: records publish → delivery latency from the probe's timestamp and checks every
/// publisher's counter for gaps (lost) and going backwards (late or duplicate).
/// </summary>
/// <remarks>Thread-safety: state is written only by the connection's receive loop; read after it is stopped.</remarks>
public sealed class FanoutSubscriber : IWsMessageHandler
{
    private const long SubscribeId = 1;

    private readonly RawWsConnection _connection;
    private readonly LatencyTrack _latency;
    private readonly long[] _expected;
    private readonly TaskCompletionSource _subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _delivered;

    /// <summary>Creates a subscriber expecting probes from <paramref name="publishers"/> publishers.</summary>
    public FanoutSubscriber(RawWsConnection connection, int publishers, LatencyTrack latency)
    {
        _connection = connection;
        _latency = latency;
        _expected = new long[publishers];
    }

    /// <summary>The receive loop, once listening.</summary>
    public Task ReceiveLoop { get; private set; } = Task.CompletedTask;

    /// <summary>The connection.</summary>
    public RawWsConnection Connection => _connection;

    /// <summary>Probes received.</summary>
    public long Delivered => Volatile.Read(ref _delivered);

    /// <summary>Probes missing so far: counters skipped over and not (yet) seen later.</summary>
    public long Lost { get; private set; }

    /// <summary>Probes that arrived after a later one of the same publisher.</summary>
    public long OutOfOrder { get; private set; }

    /// <summary>Envelopes that were neither our probes nor expected answers.</summary>
    public long Unexpected { get; private set; }

    /// <summary>The next counter expected from publisher <paramref name="publisher"/>.</summary>
    public long Expected(int publisher) => Volatile.Read(ref _expected[publisher]);

    /// <summary>Starts the receive loop and subscribes to <paramref name="topic"/>; completes on the cfm.</summary>
    public async Task SubscribeAsync(string topic, CancellationToken cancellationToken)
    {
        ReceiveLoop = _connection.RunReceiveLoopAsync(this, cancellationToken);
        await _connection.SendLock.WaitAsync(cancellationToken);
        try
        {
            _connection.AppendText(Encoding.UTF8.GetBytes($"{{\"type\":\"req\",\"id\":{SubscribeId},\"op\":\"$subscribe\",\"data\":{{\"topic\":\"{topic}\"}}}}"));
            await _connection.FlushAsync(cancellationToken);
        }
        finally
        {
            _connection.SendLock.Release();
        }

        await _subscribed.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
    }

    /// <summary>Counts as lost whatever each publisher sent beyond what arrived (call once, after draining).</summary>
    public void SettleTail(IReadOnlyList<long> sentPerPublisher)
    {
        for (int p = 0; p < _expected.Length; p++)
        {
            Lost += Math.Max(0, sentPerPublisher[p] - _expected[p]);
        }
    }

    /// <inheritdoc />
    public void OnMessage(RawWsConnection connection, ReadOnlySpan<byte> payload, long receivedTimestamp)
    {
        if (EnvelopeScanner.TryScanProbeInd(payload, out long publisher, out long counter, out long timestamp)
            && (ulong)publisher < (ulong)_expected.Length)
        {
            OnProbe(publisher, counter, timestamp, receivedTimestamp);
            return;
        }

        if (!EnvelopeScanner.TryScan(payload, out Envelope e))
        {
            Unexpected++;
            return;
        }

        if (e.Kind == EnvelopeKind.Ind && e.HasProbe && (ulong)e.Publisher < (ulong)_expected.Length)
        {
            OnProbe(e.Publisher, e.Counter, e.Timestamp, receivedTimestamp);
            return;
        }

        if (e.Id == SubscribeId && e.Kind == EnvelopeKind.Cfm)
        {
            _subscribed.TrySetResult();
        }
        else if (e.Id == SubscribeId && e.Kind == EnvelopeKind.Rej)
        {
            _subscribed.TrySetException(new IOException("$subscribe rejected: " + Encoding.UTF8.GetString(payload)));
        }
        else if (e.Kind != EnvelopeKind.Ind)
        {
            Unexpected++;
        }
    }

    private void OnProbe(long publisher, long counter, long timestamp, long receivedTimestamp)
    {
        _latency.RecordTicks(receivedTimestamp - timestamp);
        Interlocked.Increment(ref _delivered);
        ref long expected = ref _expected[publisher];
        if (counter == expected)
        {
            Volatile.Write(ref expected, expected + 1);
        }
        else if (counter > expected)
        {
            Lost += counter - expected;
            Volatile.Write(ref expected, counter + 1);
        }
        else
        {
            // Counted as lost when the gap opened; it did arrive after all, just late.
            OutOfOrder++;
            Lost--;
        }
    }

    /// <inheritdoc />
    public ValueTask OnReceiveBatchEndAsync(RawWsConnection connection) => ValueTask.CompletedTask;
}
