using ConnMsg.Client.Internal;

namespace ConnMsg.Client;

public sealed partial class ConnMsgClient
{
    /// <summary>
    /// How long a re-subscription, and the <c>$unsubscribe</c> that takes one back, may wait for its answer: the
    /// request timeout, or the connect timeout when that is infinite. The reconnect waits for them before it publishes
    /// the connection, and they are the client's own requests, not ones the application chose to let wait for ever;
    /// unbounded, a server that never answers one would hold every request waiting for the connection for ever.
    /// </summary>
    private TimeSpan ResubscribeTimeout => _options.RequestTimeout == Timeout.InfiniteTimeSpan ? _options.ConnectTimeout : _options.RequestTimeout;

    /// <summary>Re-subscribes every topic on a new connection before it is published, asking history topics for what was missed.</summary>
    private async Task ResubscribeAllAsync(Connection connection, CancellationToken cancellationToken)
    {
        var pending = new List<Task>();
        foreach (var state in _topics.Values)
        {
            pending.Add(ResubscribeAsync(connection, state, cancellationToken));
        }

        await Task.WhenAll(pending).ConfigureAwait(false);
    }

    private async Task ResubscribeAsync(Connection connection, TopicState state, CancellationToken cancellationToken)
    {
        await state.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (state.Removed || state.Subscribers.Length == 0)
            {
                return;
            }

            if (!await TryResubscribeAsync(connection, state, _options.ResubscribeMaxRetries > 0, cancellationToken).ConfigureAwait(false))
            {
                // Not before the connection is published: the server may stay overloaded for long, and the requests
                // waiting for the connection need not wait for this topic.
                _ = ResubscribeAgainAsync(connection, state);
            }
        }
        finally
        {
            state.Gate.Release();
        }
    }

    /// <summary>
    /// Sends one re-subscription of a topic on a connection; the caller holds the topic's gate. False when the server
    /// refused it <c>overloaded</c> and it is to be sent again on the same connection (only while
    /// <paramref name="mayRetry"/>); true when it is done with: live, refused for good (reported through
    /// <see cref="RecoveryFailed"/>; so is <c>overloaded</c> once no retry is left), confirmed with a <c>cfm</c> that
    /// could not be read (taken back with <c>$unsubscribe</c>, then reported the same way), not answered within
    /// <see cref="ResubscribeTimeout"/> (reported the same way; a late <c>cfm</c> is taken back with <c>$unsubscribe</c>), refused
    /// <c>shutting_down</c>, or failed otherwise on a connection still open (reported the same way). Throws only when
    /// the connection was lost, the client disposed or <paramref name="cancellationToken"/> cancelled: the next
    /// connection re-subscribes the topic.
    /// </summary>
    private async Task<bool> TryResubscribeAsync(Connection connection, TopicState state, bool mayRetry, CancellationToken cancellationToken)
    {
        long? since = state.HasHistory ? state.LastSeq : null;
        SubscribeResult result;
        SubscribePendingRequest? request = null;
        try
        {
            result = await SubscribeOnAsync(connection, state, since, ResubscribeTimeout, cancellationToken, out request).ConfigureAwait(false);
        }
        catch (ConnMsgRejectedException e) when (e.Code == "overloaded" && mayRetry)
        {
            // "Retry later" (PROTOCOL §4): the connection is healthy and may never drop, so waiting for the next one
            // could take forever.
            state.SubscribedOn = null;
            return false;
        }
        catch (ConnMsgRejectedException e) when (e.Code == "shutting_down")
        {
            // The server is draining and closes this connection once done (PROTOCOL §6); the next connection
            // subscribes the topic again, as after any connection loss. Nothing is refused for good.
            state.SubscribedOn = null;
            ConnMsgClientLog.ResubscribeLeftToNextConnection(_logger, state.Topic);
            return true;
        }
        catch (ConnMsgRejectedException e)
        {
            // For overloaded, the last retry: a server overloaded for that long may stay so, and the application must
            // learn that its subscription is gone rather than wait for Inds that never come.
            state.SubscribedOn = null;
            if (e.Code == "overloaded")
            {
                ConnMsgClientLog.ResubscribeGaveUp(_logger, state.Topic, _options.ResubscribeMaxRetries);
            }

            RaiseRecoveryFailed(new ConnMsgRecoveryFailedEventArgs(state.Topic, since ?? 0, null, e));
            return true;
        }
        catch (TimeoutException e) when (!connection.IsClosed)
        {
            // No answer within ResubscribeTimeout: the server may be slow rather than gone, and the connection may be
            // sound for the other topics, so only this one fails. If the $subscribe went out, the server may still
            // make it live; its late cfm is discarded (the request was abandoned, so it touches no seq) and then
            // taken back as a SubscribeAsync given up is. One that timed out before it was sent leaves nothing to undo.
            // A connection lost meanwhile is left to the caller: the next one re-subscribes the topic.
            state.SubscribedOn = null;
            if (request is { IsAbandoned: true })
            {
                _ = UndoAbandonedSubscribeAsync(connection, state, request.Settled);
            }

            RaiseRecoveryFailed(new ConnMsgRecoveryFailedEventArgs(state.Topic, since ?? 0, null, e));
            return true;
        }
        catch (ConnMsgException e) when (request is not null && request.Settled.IsCompletedSuccessfully && request.Settled.Result)
        {
            // A cfm came (its outcome is settled before the request fails) but could not be read, so whether the missed
            // Inds were replayed is unknown: the topic is reported, as SubscribeAsync throws. The server made it live
            // all the same and would go on delivering to a subscription the client gave up, so it is taken back, under
            // the gate (a later subscribe of the topic goes out after it). Only this topic fails: the connection and
            // the other topics' re-subscriptions are sound.
            state.SubscribedOn = null;
            await UnsubscribeOnAsync(connection, state.Topic, ResubscribeTimeout).ConfigureAwait(false);
            RaiseRecoveryFailed(new ConnMsgRecoveryFailedEventArgs(state.Topic, since ?? 0, null, e));
            return true;
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && !connection.IsClosed && !IsDisposed)
        {
            // Anything no rule above names, such as a rej the client cannot read or a $subscribe over the server's
            // maxMessage: the server did not make it live, and the connection is sound, so this topic alone fails.
            // Thrown on, it would fail the whole reconnect, and the next connection would meet it again, for ever.
            // A lost connection, disposal or cancellation is left to the caller: the next connection re-subscribes.
            state.SubscribedOn = null;
            RaiseRecoveryFailed(new ConnMsgRecoveryFailedEventArgs(state.Topic, since ?? 0, null, e));
            return true;
        }

        state.SubscribedOn = connection;
        ConnMsgClientLog.Resubscribed(_logger, state.Topic, since, result.Recovered);
        if (since is { } from && result.Recovered == false)
        {
            RaiseRecoveryFailed(new ConnMsgRecoveryFailedEventArgs(state.Topic, from, result.Seq, null));
        }

        return true;
    }

    /// <summary>
    /// Sends a re-subscription refused <c>overloaded</c> again on the same connection, after the reconnect backoff
    /// growing per refusal, at most <see cref="ConnMsgClientOptions.ResubscribeMaxRetries"/> times, until it is done
    /// with (see <see cref="TryResubscribeAsync"/>; after the last retry a refusal is reported through
    /// <see cref="RecoveryFailed"/>), the topic has no subscriber left or was subscribed meanwhile, the connection is
    /// lost (the next one re-subscribes it) or the client is disposed.
    /// </summary>
    private async Task ResubscribeAgainAsync(Connection connection, TopicState state)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(_disposing.Token, connection.Aborted);
        for (int retry = 1; ; retry++)
        {
            var delay = Backoff(retry);
            ConnMsgClientLog.ResubscribeRetryScheduled(_logger, state.Topic, retry, delay);
            try
            {
                await Task.Delay(delay, stop.Token).ConfigureAwait(false);
                await state.Gate.WaitAsync(stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                if (state.Removed || state.Subscribers.Length == 0 || state.SubscribedOn == connection)
                {
                    return;
                }

                if (await TryResubscribeAsync(connection, state, retry < _options.ResubscribeMaxRetries, stop.Token).ConfigureAwait(false))
                {
                    return;
                }
            }
            catch (Exception) when (stop.IsCancellationRequested || connection.IsClosed)
            {
                return; // disposed, or the connection was lost: the next one re-subscribes the topic
            }
            catch (Exception e)
            {
                // TryResubscribeAsync reports every failure on a sound connection itself; one that still escapes it
                // (a fault in its own handling) must not leave the topic dead without the application hearing of it.
                state.SubscribedOn = null;
                RaiseRecoveryFailed(new ConnMsgRecoveryFailedEventArgs(state.Topic, state.LastSeq, null, e));
                return;
            }
            finally
            {
                state.Gate.Release();
            }
        }
    }
}
