using System.Diagnostics;
using ConnMsg.Load.Protocol;
using ConnMsg.Load.Transport;

namespace ConnMsg.Load.Scenarios;

/// <summary>
/// One publisher connection sending <c>publish</c> requests whose Ind data is a probe (publisher, counter,
/// timestamp): either at a fixed rate or flat out with a window of requests in flight.
/// </summary>
/// <remarks>
/// Thread-safety: the pacing loop and the receive loop both send, under the connection's send lock;
/// counters are updated with interlocked operations.
/// </remarks>
public sealed class FanoutPublisher : IWsMessageHandler
{
    private readonly RawWsConnection _connection;
    private readonly int _index;
    private readonly double _rate;
    private readonly int _window;
    private readonly byte[] _head;
    private readonly byte[] _padding;
    private readonly int _maxRequest;
    private readonly Action _onError;
    private long _sent;
    private long _confirmed;
    private long _rejected;
    private volatile bool _stopping;

    /// <summary>Creates publisher number <paramref name="index"/>; <paramref name="rate"/> 0 means flat out.</summary>
    public FanoutPublisher(RawWsConnection connection, int index, string topic, double rate, int window, int paddingBytes, Action onError)
    {
        _connection = connection;
        _index = index;
        _rate = rate;
        _window = window;
        _head = RequestWriter.MakePublishHead(topic);
        _padding = paddingBytes > 0 ? RequestWriter.MakeStringPayload(paddingBytes) : [];
        _maxRequest = RequestWriter.MaxPublishLength(_head, _padding);
        _onError = onError;
    }

    /// <summary>Publishes sent; the probe counters used are 0 … Sent − 1.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Publishes confirmed.</summary>
    public long Confirmed => Interlocked.Read(ref _confirmed);

    /// <summary>Publishes rejected (their probes are then counted as lost by the subscribers).</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    /// <summary>The receive loop.</summary>
    public Task ReceiveLoop { get; private set; } = Task.CompletedTask;

    /// <summary>The connection.</summary>
    public RawWsConnection Connection => _connection;

    /// <summary>The pacing loop in rate mode; completes after <see cref="Stop"/>.</summary>
    public Task Pacing { get; private set; } = Task.CompletedTask;

    /// <summary>Starts reading answers and sending publishes; returns once sending has started.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        ReceiveLoop = _connection.RunReceiveLoopAsync(this, cancellationToken);
        if (_rate > 0)
        {
            Pacing = Task.Run(() => PaceAsync(cancellationToken), cancellationToken);
            return Task.CompletedTask;
        }

        return SendAsync(_window).AsTask();
    }

    /// <summary>Stops sending.</summary>
    public void Stop() => _stopping = true;

    /// <inheritdoc />
    public void OnMessage(RawWsConnection connection, ReadOnlySpan<byte> payload, long receivedTimestamp)
    {
        if (!EnvelopeScanner.TryScan(payload, out Envelope e))
        {
            _onError();
            return;
        }

        if (e.Kind == EnvelopeKind.Cfm)
        {
            Interlocked.Increment(ref _confirmed);
        }
        else if (e.Kind == EnvelopeKind.Rej)
        {
            Interlocked.Increment(ref _rejected);
            _onError();
        }
    }

    /// <inheritdoc />
    public ValueTask OnReceiveBatchEndAsync(RawWsConnection connection)
    {
        if (_rate > 0 || _stopping)
        {
            return ValueTask.CompletedTask;
        }

        long inFlight = Sent - Confirmed - Rejected;
        return inFlight < _window ? SendAsync((int)(_window - inFlight)) : ValueTask.CompletedTask;
    }

    private async ValueTask SendAsync(int count)
    {
        await _connection.SendLock.WaitAsync();
        try
        {
            if (Append(count) > 0)
            {
                await _connection.FlushAsync();
            }
        }
        finally
        {
            _connection.SendLock.Release();
        }
    }

    private int Append(int count)
    {
        long now = Stopwatch.GetTimestamp();
        int n = 0;
        for (; n < count && !_stopping; n++)
        {
            long counter = _sent;
            Span<byte> payload = _connection.BeginText(_maxRequest);
            int length = RequestWriter.WritePublish(payload, counter + 1, _head, _index, counter, now, _padding);
            _connection.CommitText(_maxRequest, length);
            Interlocked.Increment(ref _sent);
        }

        return n;
    }

    private async Task PaceAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        long scheduled = 0;
        while (!_stopping && !cancellationToken.IsCancellationRequested)
        {
            long due = (long)(clock.Elapsed.TotalSeconds * _rate) - scheduled;
            if (due > 0)
            {
                // Open loop, but never more than the server's MaxInFlight (256) outstanding: beyond that the
                // server would answer overloaded, which measures nothing useful.
                long room = 256 - (Sent - Confirmed - Rejected);
                int n = (int)Math.Clamp(Math.Min(due, room), 0, 4096);
                if (n > 0)
                {
                    await SendAsync(n);
                }

                scheduled += due;
            }

            await Task.Delay(1, cancellationToken);
        }
    }
}
