using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace ConnMsg.Client;

/// <summary>
/// A live subscription to one topic. Dispose it to unsubscribe. Without a handler it is an
/// <see cref="IAsyncEnumerable{T}"/> of the topic's Inds; with one, the handler gets them one at a time.
/// </summary>
/// <remarks>
/// Inds arrive in publish order, each once, across reconnects (on history topics). Delivery is decoupled from
/// the receive loop by an unbounded queue per subscription, so a slow consumer cannot stall the answers of
/// requests (or a handler that awaits a request could deadlock); the price is that a consumer that never
/// catches up grows memory. Thread-safe.
/// </remarks>
public sealed class ConnMsgSubscription : IAsyncDisposable, IAsyncEnumerable<ConnMsgInd>
{
    private static readonly AsyncLocal<ConnMsgSubscription?> s_inHandler = new();

    private readonly ConnMsgClient _client;
    private readonly Channel<ConnMsgInd> _queue = Channel.CreateUnbounded<ConnMsgInd>(
        new UnboundedChannelOptions { SingleReader = false, SingleWriter = false });
    private readonly Func<ConnMsgInd, CancellationToken, ValueTask>? _handler;
    private readonly CancellationTokenSource _disposed = new();
    private readonly ILogger _logger;
    private Task _pump = Task.CompletedTask;
    private int _disposeStarted;

    internal ConnMsgSubscription(ConnMsgClient client, string topic, Func<ConnMsgInd, CancellationToken, ValueTask>? handler, ILogger logger)
    {
        _client = client;
        Topic = topic;
        _handler = handler;
        _logger = logger;
    }

    /// <summary>The subscribed topic.</summary>
    public string Topic { get; }

    /// <summary>The topic state this subscriber is registered with; set once by the client before any Ind can arrive.</summary>
    internal Internal.TopicState? State { get; set; }

    internal void StartPump()
    {
        if (_handler is not null)
        {
            _pump = Task.Run(PumpAsync);
        }
    }

    /// <summary>Receive loop: queues an Ind for this subscriber; never blocks.</summary>
    internal void Deliver(ConnMsgInd ind) => _queue.Writer.TryWrite(ind);

    /// <summary>Ends the stream without unsubscribing (the client is gone).</summary>
    internal void Complete() => _queue.Writer.TryComplete();

    /// <summary>Enumerates the Inds until the subscription or the client is disposed.</summary>
    /// <exception cref="InvalidOperationException">The subscription was created with a handler, which consumes the Inds.</exception>
    public IAsyncEnumerator<ConnMsgInd> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        if (_handler is not null)
        {
            throw new InvalidOperationException("This subscription delivers its Inds to a handler; subscribe without one to enumerate.");
        }

        return _queue.Reader.ReadAllAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
    }

    /// <summary>Unsubscribes (the server is told when this was the topic's last local subscriber) and ends the stream.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposeStarted, 1) != 0)
        {
            return;
        }

        _queue.Writer.TryComplete();
        await _disposed.CancelAsync().ConfigureAwait(false);
        await _client.UnsubscribeAsync(this).ConfigureAwait(false);

        // A handler that disposes its own subscription must not wait for itself to finish.
        if (s_inHandler.Value != this)
        {
            await _pump.ConfigureAwait(false);
        }
    }

    private async Task PumpAsync()
    {
        var token = _disposed.Token;
        await foreach (var ind in _queue.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
        {
            if (token.IsCancellationRequested)
            {
                return;
            }

            s_inHandler.Value = this;
            try
            {
                await _handler!(ind, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // One failing Ind must not end the subscription: log and carry on with the next.
                ConnMsgClientLog.SubscriptionHandlerFailed(_logger, Topic, e);
            }
            finally
            {
                s_inHandler.Value = null;
            }
        }
    }
}
