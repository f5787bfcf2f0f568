using System.Runtime.CompilerServices;
using ConnMsg.Client.Internal;

namespace ConnMsg.Client;

public sealed partial class ConnMsgClient
{
    /// <summary>
    /// Subscribes to a topic; enumerate the returned subscription to read its Inds, dispose it to unsubscribe.
    /// Returns once the server confirmed the subscription is live. Cancelled or timed out after the <c>$subscribe</c>
    /// went out, it is taken back with <c>$unsubscribe</c> once the server's late <c>cfm</c> arrives. Failed because
    /// the server's <c>cfm</c> could not be read (the server made it live all the same), it is taken back with
    /// <c>$unsubscribe</c> (best effort) before this throws.
    /// </summary>
    /// <param name="topic">The topic, e.g. <c>prices.EURUSD</c>.</param>
    /// <param name="cancellationToken">Cancels subscribing.</param>
    /// <exception cref="ConnMsgRejectedException">The server refused (e.g. <c>forbidden</c>).</exception>
    /// <exception cref="ConnMsgException">The server's answer was malformed.</exception>
    public Task<ConnMsgSubscription> SubscribeAsync(string topic, CancellationToken cancellationToken = default)
        => SubscribeCoreAsync(topic, null, cancellationToken);

    /// <summary>Subscribes to a topic and hands each Ind, in order and one at a time, to <paramref name="handler"/>.</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="handler">Called per Ind; the token is cancelled when the subscription is disposed. An exception is logged and the next Ind delivered.</param>
    /// <param name="cancellationToken">Cancels subscribing.</param>
    /// <exception cref="ConnMsgRejectedException">The server refused (e.g. <c>forbidden</c>).</exception>
    public Task<ConnMsgSubscription> SubscribeAsync(string topic, Func<ConnMsgInd, CancellationToken, ValueTask> handler, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return SubscribeCoreAsync(topic, handler, cancellationToken);
    }

    /// <summary>Subscribes to a topic with a synchronous handler.</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="handler">Called per Ind, in order, one at a time.</param>
    /// <param name="cancellationToken">Cancels subscribing.</param>
    public Task<ConnMsgSubscription> SubscribeAsync(string topic, Action<ConnMsgInd> handler, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return SubscribeCoreAsync(topic, (ind, _) =>
        {
            handler(ind);
            return ValueTask.CompletedTask;
        }, cancellationToken);
    }

    /// <summary>Subscribes for as long as the enumeration runs: <c>await foreach (var ind in client.ListenAsync("t", ct))</c>.</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="cancellationToken">Ends the enumeration (and the subscription).</param>
    public async IAsyncEnumerable<ConnMsgInd> ListenAsync(string topic, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var subscription = await SubscribeAsync(topic, cancellationToken).ConfigureAwait(false);
        await using (((IAsyncDisposable)subscription).ConfigureAwait(false))
        {
            await foreach (var ind in subscription.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                yield return ind;
            }
        }
    }

    private async Task<ConnMsgSubscription> SubscribeCoreAsync(string topic, Func<ConnMsgInd, CancellationToken, ValueTask>? handler, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        NameGuard.ThrowIfInvalid(topic, NameGuard.MaxTopicBytes, nameof(topic));
        var subscription = new ConnMsgSubscription(this, topic, handler, _logger);

        // Register locally before asking the server: Inds may arrive before the cfm, and none may be lost.
        TopicState state;
        while (true)
        {
            state = _topics.GetOrAdd(topic, static t => new TopicState(t));
            if (state.TryAdd(subscription))
            {
                break;
            }

            // That state is being retired by an unsubscribe; make way for a fresh one.
            _topics.TryRemove(KeyValuePair.Create(topic, state));
        }

        subscription.State = state;
        subscription.StartPump();

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.RequestTimeout);
        try
        {
            while (true)
            {
                // Never wait for the connection while holding the gate: the reconnect needs it to re-subscribe.
                var connection = await WaitForOpenAsync(timeout.Token).ConfigureAwait(false);
                await state.Gate.WaitAsync(timeout.Token).ConfigureAwait(false);
                SubscribePendingRequest? request = null;
                try
                {
                    if (state.SubscribedOn == connection)
                    {
                        return subscription; // already live for another subscriber, or re-subscribed by a reconnect
                    }

                    try
                    {
                        await SubscribeOnAsync(connection, state, null, _options.RequestTimeout, timeout.Token, out request).ConfigureAwait(false);
                        state.SubscribedOn = connection;
                        return subscription;
                    }
                    catch (Exception) when (request is { IsAbandoned: true })
                    {
                        // Cancelled or timed out after it was sent: the server may still make it live.
                        _ = UndoAbandonedSubscribeAsync(connection, state, request.Settled);
                        throw;
                    }
                    catch (ConnMsgException) when (request is not null && request.Settled.IsCompletedSuccessfully && request.Settled.Result)
                    {
                        // A cfm came (its outcome is settled before the request fails) but could not be read: the
                        // server made the subscription live while the caller is told it failed. Taken back before the
                        // caller hears of it, and under the gate, so a later subscribe of the topic goes out after it.
                        await UnsubscribeOnAsync(connection, state.Topic, _options.RequestTimeout).ConfigureAwait(false);
                        throw;
                    }
                    catch (ConnMsgConnectionLostException)
                    {
                        // The reconnect re-subscribes this topic (it has a subscriber now); wait for it and check.
                    }
                }
                finally
                {
                    state.Gate.Release();
                }
            }
        }
        catch (Exception e)
        {
            await UnsubscribeAsync(subscription).ConfigureAwait(false);
            subscription.Complete();
            if (e is OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"Subscribing to '{topic}' took longer than {_options.RequestTimeout}.", e);
            }

            throw;
        }
    }

    /// <summary>Sends <c>$subscribe</c> on a given connection; the caller holds the topic's gate.</summary>
    private Task<SubscribeResult> SubscribeOnAsync(Connection connection, TopicState state, long? since, TimeSpan timeout, CancellationToken cancellationToken, out SubscribePendingRequest request)
    {
        long id = NextId();
        var message = EnvelopeWriter.WriteRequest(id, "$subscribe", (state.Topic, since), static (w, s) =>
        {
            w.WriteStartObject();
            w.WriteString("topic"u8, s.Topic);
            if (s.since is { } from)
            {
                w.WriteNumber("since"u8, from);
            }

            w.WriteEndObject();
        });
        request = new SubscribePendingRequest(id, state, since is not null);
        return ExecuteAsync(message, request, connection, timeout, cancellationToken);
    }

    /// <summary>
    /// Undoes a <c>$subscribe</c> whose caller gave up after it was sent, unless a later one of the topic was
    /// confirmed on the same connection meanwhile.
    /// </summary>
    /// <remarks>
    /// It waits for the answer instead of sending <c>$unsubscribe</c> at once: the server may handle the two
    /// concurrently (PROTOCOL §8), and an <c>$unsubscribe</c> that overtakes a slow <c>$subscribe</c> would leave it
    /// live. A <c>rej</c> or a lost connection leaves nothing to undo. Under the topic's gate, so a new subscribe of
    /// the topic goes out after this <c>$unsubscribe</c>, never before it.
    /// </remarks>
    private async Task UndoAbandonedSubscribeAsync(Connection connection, TopicState state, Task<bool> settled)
    {
        // Synchronous, before the caller releases the gate and unsubscribes its subscriber: the state must not be
        // retired while this still needs it.
        state.AddUnsettled();
        bool live = await settled.ConfigureAwait(false);
        await state.Gate.WaitAsync().ConfigureAwait(false);
        try
        {
            // A subscriber confirmed on this connection since owns the server's subscription and unsubscribes when it
            // leaves. One still on its way sends its own $subscribe after this, under the gate.
            bool undo = live && state.SubscribedOn != connection && !connection.IsClosed && !IsDisposed;
            if (undo)
            {
                await UnsubscribeOnAsync(connection, state.Topic, _options.RequestTimeout).ConfigureAwait(false);
            }

            ConnMsgClientLog.AbandonedSubscribeSettled(_logger, state.Topic, live, undo);
            state.RemoveUnsettled();
            RetireIfUnused(state);
        }
        finally
        {
            state.Gate.Release();
        }
    }

    /// <summary>Removes a subscriber; the last one of a topic sends <c>$unsubscribe</c> (best effort).</summary>
    internal async Task UnsubscribeAsync(ConnMsgSubscription subscription)
    {
        var state = subscription.State;
        if (state is null || !state.Remove(subscription))
        {
            return;
        }

        await state.Gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (state.Subscribers.Length != 0)
            {
                return; // someone subscribed again meanwhile and keeps the server subscription
            }

            // On the connection it was made on: while a reconnect still re-subscribes other topics, that is the new
            // connection, not yet the open one, and the subscription would otherwise stay on it.
            if (!IsDisposed && state.SubscribedOn is { IsClosed: false } connection)
            {
                await UnsubscribeOnAsync(connection, state.Topic, _options.RequestTimeout).ConfigureAwait(false);
            }

            state.SubscribedOn = null;
            RetireIfUnused(state);
        }
        finally
        {
            state.Gate.Release();
        }
    }

    /// <summary>Sends <c>$unsubscribe</c> on a given connection and waits for its answer (best effort); the caller holds the topic's gate.</summary>
    private async Task UnsubscribeOnAsync(Connection connection, string topic, TimeSpan timeout)
    {
        long id = NextId();
        var message = EnvelopeWriter.WriteRequest(id, "$unsubscribe", topic, static (w, topic) =>
        {
            w.WriteStartObject();
            w.WriteString("topic"u8, topic);
            w.WriteEndObject();
        });
        try
        {
            await ExecuteAsync(message, new RawPendingRequest(id, ContinuationMode.ThreadPool), connection, timeout, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ConnMsgException or TimeoutException or ObjectDisposedException)
        {
            // The connection is gone (so is the server's subscription), the client was disposed meanwhile (closing
            // it), or the server refused: nothing to undo.
        }
    }

    /// <summary>Takes a topic nobody subscribes to any more out of the table; the caller holds its gate.</summary>
    private void RetireIfUnused(TopicState state)
    {
        if (state.TryMarkRemoved())
        {
            _topics.TryRemove(KeyValuePair.Create(state.Topic, state));
        }
    }
}
