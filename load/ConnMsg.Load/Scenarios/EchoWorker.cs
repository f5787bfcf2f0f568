using System.Diagnostics;
using ConnMsg.Load.Metrics;
using ConnMsg.Load.Protocol;
using ConnMsg.Load.Transport;

namespace ConnMsg.Load.Scenarios;

/// <summary>
/// Keeps up to N requests in flight on one raw connection. Closed loop: every answer frees a slot, and after
/// each receive all freed slots are refilled in one write. Paced: the owner calls <see cref="SendAsync"/> on its
/// own schedule (one pacer for many workers, rather than a timer per connection).
/// </summary>
/// <remarks>
/// Thread-safety: answers arrive on the connection's receive loop; the slot stack is locked because a pacer
/// may pop while the receive loop pushes. Request ids are <c>generation × N + slot</c>, so an answer finds
/// its send timestamp without a dictionary.
/// </remarks>
public sealed class EchoWorker : IWsMessageHandler
{
    private readonly RawWsConnection _connection;
    private readonly LatencyTrack _latency;
    private readonly Action _onError;
    private readonly byte[] _tail;
    private readonly byte[]? _echoedData;
    private readonly int _maxRequest;
    private readonly int _slots;
    private readonly long[] _sentAt;
    private readonly long[] _generation;
    private readonly int[] _free;
    private readonly bool _paced;
    private int _freeCount;
    private volatile bool _stopping;

    /// <summary>Creates a worker: closed loop (flat out), or <paramref name="paced"/> by its owner.</summary>
    public EchoWorker(RawWsConnection connection, string op, ReadOnlySpan<byte> dataToken, int inFlight, LatencyTrack latency, Action onError, bool paced = false)
    {
        _connection = connection;
        _latency = latency;
        _onError = onError;
        _tail = RequestWriter.MakeTail(op, dataToken);
        _echoedData = op == "echo" ? dataToken.ToArray() : null;
        _maxRequest = RequestWriter.MaxRequestLength(_tail);
        _slots = inFlight;
        _sentAt = new long[inFlight];
        _generation = new long[inFlight];
        _free = new int[inFlight];
        for (int i = 0; i < inFlight; i++)
        {
            _free[i] = inFlight - 1 - i;
        }

        _freeCount = inFlight;
        _paced = paced;
    }

    /// <summary>The connection's receive loop, once started.</summary>
    public Task ReceiveLoop { get; private set; } = Task.CompletedTask;

    /// <summary>Requests sent and not yet answered.</summary>
    public int Outstanding
    {
        get
        {
            lock (_free)
            {
                return _slots - _freeCount;
            }
        }
    }

    /// <summary>Starts the receive loop (answers are read from now on) without sending anything.</summary>
    public void Listen(CancellationToken cancellationToken) =>
        ReceiveLoop = _connection.RunReceiveLoopAsync(this, cancellationToken);

    /// <summary>Starts a closed-loop worker by filling every slot; a paced worker waits for <see cref="SendAsync"/>.</summary>
    public Task StartAsync() => _paced ? Task.CompletedTask : SendAsync(int.MaxValue).AsTask();

    /// <summary>Stops sending new requests; answers still in flight are read.</summary>
    public void Stop() => _stopping = true;

    /// <inheritdoc />
    public void OnMessage(RawWsConnection connection, ReadOnlySpan<byte> payload, long receivedTimestamp)
    {
        long id;
        bool confirmed;
        if (_echoedData is not null && EnvelopeScanner.TryScanEchoCfm(payload, _echoedData, out id))
        {
            confirmed = true;
        }
        else if (!EnvelopeScanner.TryScan(payload, out Envelope envelope))
        {
            _onError();
            return;
        }
        else if (envelope.Kind is not (EnvelopeKind.Cfm or EnvelopeKind.Rej))
        {
            return; // the $session Ind
        }
        else
        {
            id = envelope.Id;
            confirmed = envelope.Kind == EnvelopeKind.Cfm;
        }

        if (id < 0)
        {
            _onError();
            return;
        }

        int slot = (int)(id % _slots);
        long sentAt = _sentAt[slot];
        if (sentAt == 0 || id / _slots != _generation[slot] - 1)
        {
            _onError(); // an answer to nothing we are waiting for
            return;
        }

        _sentAt[slot] = 0;
        if (confirmed)
        {
            _latency.RecordTicks(receivedTimestamp - sentAt);
        }
        else
        {
            _onError();
        }

        lock (_free)
        {
            _free[_freeCount++] = slot;
        }
    }

    /// <inheritdoc />
    public async ValueTask OnReceiveBatchEndAsync(RawWsConnection connection)
    {
        if (!_paced && !_stopping)
        {
            await SendAsync(int.MaxValue);
        }
    }

    /// <summary>
    /// Sends up to <paramref name="limit"/> requests in one write, as many as there are free slots; returns how
    /// many went out (a paced owner drops the rest: an open loop with a bounded window).
    /// </summary>
    public async ValueTask<int> SendAsync(int limit)
    {
        await _connection.SendLock.WaitAsync();
        try
        {
            int sent = AppendRequests(limit);
            if (sent > 0)
            {
                await _connection.FlushAsync();
            }

            return sent;
        }
        finally
        {
            _connection.SendLock.Release();
        }
    }

    /// <summary>Appends up to <paramref name="limit"/> requests, one per free slot; call with the send lock held.</summary>
    private int AppendRequests(int limit)
    {
        int sent = 0;
        long now = Stopwatch.GetTimestamp();
        while (sent < limit && !_stopping)
        {
            int slot;
            lock (_free)
            {
                if (_freeCount == 0)
                {
                    break;
                }

                slot = _free[--_freeCount];
            }

            long id = (_generation[slot]++ * _slots) + slot;
            Span<byte> payload = _connection.BeginText(_maxRequest);
            int length = RequestWriter.WriteRequest(payload, id, _tail);
            _connection.CommitText(_maxRequest, length);
            _sentAt[slot] = now;
            sent++;
        }

        return sent;
    }
}
