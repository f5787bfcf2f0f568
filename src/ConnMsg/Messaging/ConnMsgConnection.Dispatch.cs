using System.Buffers;
using System.Diagnostics;
using ConnMsg.Diagnostics;
using ConnMsg.WebSockets;

namespace ConnMsg.Messaging;

public sealed partial class ConnMsgConnection : IWebSocketSession
{
    private readonly InFlightTable _inFlight = new();
    private ConnMsgRequest? _spare; // the read loop's own request object, reused while handlers complete synchronously
    private BatchCounts _batchCounts; // requests the read loop answered synchronously in its current batch, counted at its end
    private int _closedFlag;

    /// <summary>
    /// Requests of this connection whose handlers went asynchronous and that are not answered yet. A request leaves the
    /// count when it is answered or times out, even if its handler runs on after that.
    /// </summary>
    public int InFlightCount => _inFlight.Count;

    /// <summary>Whether the read loop is dispatching a batch of messages right now (requests in it may not be counted yet).</summary>
    internal bool IsDispatching => _transport.IsReadBatchOpen;

    void IWebSocketSession.OnTextMessage(in ReadOnlySequence<byte> message)
    {
        if (message.IsSingleSegment)
        {
            OnMessage(message.FirstSpan);
            return;
        }

        // Rare: a one-frame message that straddles two pipe segments. The JSON reader wants one span.
        int length = (int)message.Length;
        byte[] rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            message.CopyTo(rented);
            OnMessage(rented.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private void OnMessage(ReadOnlySpan<byte> json)
    {
        // The transport hands on only text messages it has checked to be UTF-8 (RFC 6455 §8.1).
        if (!EnvelopeReader.TryRead(json, validUtf8: true, out Envelope envelope, out string? error))
        {
            _app.Metrics.BadMessage();
            if (envelope.Kind is MessageKind.Cfm or MessageKind.Rej)
            {
                // A broken answer's id is one of ours (the directions have separate id spaces, PROTOCOL §3): echoed in
                // a rej it would read as a second answer to the peer's own request of that id. The rej goes out with
                // id null, and the request it meant to answer fails now instead of at its timeout.
                FailOutboundRequest(json, envelope, error!);
                Send(MessageWriter.Rej(default, RejectCodes.BadMessage, error));
                return;
            }

            // An ind has no id to echo; a request, or a message whose type could not be read, gets its id back.
            ReadOnlySpan<byte> id = envelope.HasId && envelope.Kind != MessageKind.Ind ? json[envelope.Id] : default;
            Send(MessageWriter.Rej(id, RejectCodes.BadMessage, error));
            return;
        }

        switch (envelope.Kind)
        {
            case MessageKind.Req when envelope.OpEscaped:
                OnRequestWithEscapedOp(json, envelope);
                break;
            case MessageKind.Req:
                OnRequest(json, envelope, json[envelope.Op]);
                break;
            case MessageKind.Cfm:
            case MessageKind.Rej:
                OnAnswer(json, envelope);
                break;
            case MessageKind.Ind:
                _app.OnClientInd(this, json, envelope);
                break;
        }
    }

    // Kept out of OnRequest so that the usual request pays for no buffer it does not need.
    private void OnRequestWithEscapedOp(ReadOnlySpan<byte> json, in Envelope envelope) =>
        OnRequest(json, envelope, EnvelopeReader.Unescape(json[envelope.Op], stackalloc byte[Names.MaxOpBytes]));

    private void OnRequest(ReadOnlySpan<byte> json, in Envelope envelope, ReadOnlySpan<byte> op)
    {
        ReadOnlySpan<byte> id = json[envelope.Id];
        ReadOnlySpan<byte> data = envelope.Data.End.Value == 0 ? default : json[envelope.Data];

        if (_app.IsDraining)
        {
            Reject(id, RejectCodes.ShuttingDown, "the server is shutting down");
            return;
        }

        if (op[0] == (byte)'$')
        {
            OnReservedRequest(id, op, data);
            return;
        }

        OpHandler? handler = _app.FindHandler(op);
        if (handler is null)
        {
            _app.Metrics.UnknownOp();
            Reject(id, RejectCodes.UnknownOp, "no handler for this op");
            return;
        }

        MessagingLog.Request(_app.Logger, handler.Name, Id);
        if (_inFlight.Contains(id))
        {
            Interlocked.Increment(ref handler.Rejected);
            Reject(id, RejectCodes.DuplicateId, "a request with this id is in flight");
            return;
        }

        if (_inFlight.Count >= _app.Options.MaxInFlight)
        {
            Interlocked.Increment(ref handler.Rejected);
            _app.Metrics.Overloaded();
            Reject(id, RejectCodes.Overloaded, "too many requests in flight on this connection");
            return;
        }

        ConnMsgRequest request = _spare ?? _app.RentRequest();
        _spare = null;
        if (_transport.InReadBatch)
        {
            request.Init(this, handler, id, data, _transport.BatchTimestamp, _transport.BatchTickMs);
        }
        else
        {
            request.Init(this, handler, id, data, Stopwatch.GetTimestamp(), Environment.TickCount64);
        }

        ValueTask pending;
        try
        {
            pending = handler.Handler(request);
        }
        catch (Exception ex)
        {
            Complete(request, ex, tracked: false);
            return;
        }

        if (pending.IsCompleted)
        {
            Exception? fault = null;
            try
            {
                pending.GetAwaiter().GetResult();
            }
            catch (Exception ex)
            {
                fault = ex;
            }

            Complete(request, fault, tracked: false);
            return;
        }

        // The handler went asynchronous: it and the in-flight table each hold the request until they let go.
        Volatile.Write(ref request.Tracked, true);
        request.SetReferences(2);
        _app.Metrics.InFlightChanged(+1);
        _inFlight.Add(request);

        // An answer given on another thread before the table had the request found nothing to take out of it. The
        // fence pairs with the one in TryMarkAnswered: either that answer sees the entry, or this sees the answer.
        Interlocked.MemoryBarrier();
        if (request.IsAnswered)
        {
            if (_inFlight.Remove(request))
            {
                request.LeftTableOnAnswer = true;
            }

            // Answered before the handler went asynchronous (or on another thread meanwhile): the answer is queued
            // already, so its latency ends now, not when the handler does.
            if (request.Outcome is { } outcome && request.TryMarkCounted())
            {
                if (_transport.InReadBatch)
                {
                    CountInBatch(handler, outcome);
                }
                else
                {
                    CountCompleted(handler, outcome, Stopwatch.GetElapsedTime(request.StartTimestamp));
                }
            }
        }

        request.AwaitHandler(pending);
    }

    /// <summary>
    /// Finishes a request whose handler went asynchronous, on the thread that completed the handler's task. Nothing
    /// may escape to that thread (a thread-pool thread would end the process): a failure here ends this connection.
    /// </summary>
    internal void FinishHandler(ConnMsgRequest request, Exception? fault)
    {
        // Taken first: a failure part-way through Complete may have recycled the request already.
        string op = request.Handler!.Name;
        try
        {
#if DEBUG
            BeforeFinishHandler?.Invoke();
#endif
            Complete(request, fault, tracked: true);
#if DEBUG
            AfterFinishHandler?.Invoke();
#endif
        }
        catch (Exception ex)
        {
            Abort();
            MessagingLog.FinishFailed(_app.Logger, op, Id, ex);
        }
    }

#if DEBUG
    /// <summary>
    /// Test seam (Debug builds only, so a connection carries no such field in Release): runs first in
    /// <see cref="FinishHandler"/>, so a test can make finishing a request fail.
    /// </summary>
    internal Action? BeforeFinishHandler;

    /// <summary>Test seam (Debug builds only): runs once <see cref="FinishHandler"/> has finished the request.</summary>
    internal Action? AfterFinishHandler;
#endif

    /// <summary>Answers what the handler left unanswered, records metrics, and recycles the request.</summary>
    private void Complete(ConnMsgRequest request, Exception? fault, bool tracked)
    {
        OpHandler handler = request.Handler!;
        if (fault is ConnMsgRejectException reject)
        {
            request.Reject(reject.Code, reject.Reason);
        }
        else if (fault is OperationCanceledException && request.AbortRequested)
        {
            // Cancelled because the connection went away or the request timed out; a timeout was already answered.
            request.TryMarkAnswered();
        }
        else if (fault is not null)
        {
            MessagingLog.HandlerFailed(_app.Logger, handler.Name, Id, fault);
            request.Reject(RejectCodes.Internal, "the handler failed");
        }
        else if (!request.IsAnswered)
        {
            MessagingLog.HandlerDidNotAnswer(_app.Logger, handler.Name, Id);
            request.Reject(RejectCodes.Internal, "the handler did not answer");
        }

        if (tracked)
        {
            // Its answer counted it, unless it raced the handler going asynchronous; a request abandoned by the close
            // has no outcome and is not counted at all: it was never answered.
            if (request.Outcome is { } outcome && request.TryMarkCounted())
            {
                CountCompleted(handler, outcome, Stopwatch.GetElapsedTime(request.StartTimestamp));
            }
        }
        else if (_transport.InReadBatch)
        {
            CountInBatch(handler, request.Outcome);
        }
        else
        {
            CountCompleted(handler, request.Outcome, Stopwatch.GetElapsedTime(request.StartTimestamp));
        }

        if (!tracked)
        {
            request.Reset();
            if (_spare is null)
            {
                _spare = request;
            }
            else
            {
                _app.ReturnRequest(request);
            }

            return;
        }

        // Whoever took the request out of the table drops the table's reference: the timeout sweep or the closing
        // connection themselves; its answer (which frees the id and the slot at once) leaves it to here. Counting the
        // request out of the in-flight gauge only now keeps a graceful drain waiting for its handler, and never lets
        // the drain close the connection between the answer freeing the id and the answer being queued.
        if (_inFlight.Remove(request) || request.LeftTableOnAnswer)
        {
            _app.Metrics.InFlightChanged(-1);
            _app.OnRequestDrained();
            Recycle(request); // the table's reference
        }

        Recycle(request); // the handler's reference
    }

    void IWebSocketSession.OnReadBatchEnd()
    {
        if (_batchCounts.Completed != 0)
        {
            // The batch's answers go out together when the read loop drains next, so the time from the read to now is
            // the time each of them spent in the server; one clock read and one update stand for all of them.
            FlushBatchCounts(Stopwatch.GetElapsedTime(_transport.BatchTimestamp));
        }
    }

    private void CountInBatch(OpHandler handler, string? outcome)
    {
        if (_batchCounts.Handler != handler)
        {
            // The per-op counters are kept for one op at a time: a batch mixing ops settles the previous op's first.
            if (_batchCounts.Handler is not null)
            {
                AddOpCounts(_batchCounts.Handler, confirmed: _batchCounts.Confirmed, rejected: _batchCounts.Rejected);
            }

            _batchCounts.Handler = handler;
            _batchCounts.Confirmed = 0;
            _batchCounts.Rejected = 0;
        }

        _batchCounts.Completed++;
        if (outcome == "cfm")
        {
            _batchCounts.Confirmed++;
        }
        else if (outcome is not null)
        {
            _batchCounts.Rejected++;
        }
    }

    private void FlushBatchCounts(TimeSpan elapsed)
    {
        int completed = _batchCounts.Completed;
        AddOpCounts(_batchCounts.Handler!, confirmed: _batchCounts.Confirmed, rejected: _batchCounts.Rejected);
        _batchCounts = default;
        _app.Metrics.RequestsCompleted(elapsed, completed);
    }

    /// <summary>Records the outcome and latency of an asynchronous request as its answer is queued, once.</summary>
    internal void CountAnswer(ConnMsgRequest request)
    {
        if (request.Outcome is { } outcome && request.TryMarkCounted())
        {
            CountCompleted(request.Handler!, outcome, Stopwatch.GetElapsedTime(request.StartTimestamp));
        }
    }

    private void CountCompleted(OpHandler handler, string? outcome, TimeSpan elapsed)
    {
        AddOpCounts(handler, confirmed: outcome == "cfm" ? 1 : 0, rejected: outcome is not null && outcome != "cfm" ? 1 : 0);
        _app.Metrics.RequestsCompleted(elapsed, 1);
    }

    private static void AddOpCounts(OpHandler handler, int confirmed, int rejected)
    {
        if (confirmed != 0)
        {
            Interlocked.Add(ref handler.Confirmed, confirmed);
        }

        if (rejected != 0)
        {
            Interlocked.Add(ref handler.Rejected, rejected);
        }
    }

    /// <summary>
    /// An answer to <paramref name="request"/> is about to be queued: from now its id and its slot are the client's
    /// again (PROTOCOL §3, "still in flight"), so it leaves the table, though its handler may still run.
    /// </summary>
    internal void OnAnswered(ConnMsgRequest request)
    {
        // Only asynchronous requests are in the table; while it is empty (the usual case) there is nothing to look up.
        if (_inFlight.Count != 0 && _inFlight.Remove(request))
        {
            request.LeftTableOnAnswer = true;
        }
    }

    /// <summary>
    /// Drops one reference to an asynchronous request: the running handler holds one, the in-flight table another
    /// (taken over by whoever removes it: a timeout or the close). The last one recycles it, so a request that timed
    /// out is never reused while its handler still runs, nor while the timeout is being answered.
    /// </summary>
    private void Recycle(ConnMsgRequest request)
    {
        if (request.ReleaseReference())
        {
            request.Reset();
            _app.ReturnRequest(request);
        }
    }

    private void OnReservedRequest(ReadOnlySpan<byte> id, ReadOnlySpan<byte> op, ReadOnlySpan<byte> data)
    {
        // Contains answers at once while nothing is in flight, so a reserved op pays for the names only then.
        if (_inFlight.Contains(id) && (op.SequenceEqual("$ping"u8) || op.SequenceEqual("$subscribe"u8) || op.SequenceEqual("$unsubscribe"u8)))
        {
            // Reserved ops answer at once and are never in the table themselves, but their id must still not be one
            // that a running request holds (PROTOCOL §3): two answers with one id could not be told apart.
            Reject(id, RejectCodes.DuplicateId, "a request with this id is in flight");
            return;
        }

        if (op.SequenceEqual("$ping"u8))
        {
            _app.Metrics.Reserved();
            Send(MessageWriter.Cfm(id, data));
        }
        else if (op.SequenceEqual("$subscribe"u8) || op.SequenceEqual("$unsubscribe"u8))
        {
            _app.Metrics.Reserved();
            bool subscribe = op[1] == (byte)'s';
            if (!Topics.SubscribeRequest.TryParse(data, out string? topic, out long? since, out string? error))
            {
                Reject(id, RejectCodes.InvalidArgument, error);
                return;
            }

            if (subscribe)
            {
                if (topic![0] == '$')
                {
                    Reject(id, RejectCodes.Forbidden, "reserved topics cannot be subscribed to");
                    return;
                }

                bool allowed;
                try
                {
                    allowed = _app.MaySubscribe(this, topic);
                }
                catch (Exception ex)
                {
                    // As for a handler that throws: this request fails, the connection goes on.
                    MessagingLog.CallbackFailed(_app.Logger, Id, ex);
                    Reject(id, RejectCodes.Internal, "the subscription could not be authorised");
                    return;
                }

                if (!allowed)
                {
                    Reject(id, RejectCodes.Forbidden, "subscription refused");
                    return;
                }

                if (!MaySubscribeMore(topic, _app.Options.MaxSubscriptionsPerConnection))
                {
                    Reject(id, RejectCodes.Overloaded, $"too many subscriptions (limit {_app.Options.MaxSubscriptionsPerConnection})");
                    return;
                }

                if (!_app.Topics.Subscribe(this, topic, since, id))
                {
                    Reject(id, RejectCodes.Overloaded, _app.Topics.TooManyHistoryTopicsReason);
                }
            }
            else
            {
                _app.Topics.Unsubscribe(this, topic!);
                Send(MessageWriter.Cfm(id, default));
            }
        }
        else
        {
            _app.Metrics.UnknownOp();
            Reject(id, RejectCodes.UnknownOp, "unknown reserved op");
        }
    }

    private void Reject(ReadOnlySpan<byte> id, string code, string? reason) => Send(MessageWriter.Rej(id, code, reason));

    void IWebSocketSession.OnTick(long nowMs)
    {
        List<ConnMsgRequest>? expired = _inFlight.RemoveExpired(nowMs - (long)_app.Options.RequestTimeout.TotalMilliseconds);
        if (expired is null)
        {
            return;
        }

        foreach (ConnMsgRequest request in expired)
        {
            // Answer now; the handler is cancelled and its late answer, if any, is dropped (answered exactly once).
            if (request.TryMarkAnswered())
            {
                request.Outcome = RejectCodes.Timeout;
                CountAnswer(request);
                Send(MessageWriter.Rej(request.RawId, RejectCodes.Timeout, "the handler did not finish in time"));
                _app.Metrics.TimedOut();
            }

            _app.Metrics.InFlightChanged(-1);
            if (request.HasAbortedToken)
            {
                // Cancelling runs the handler's callbacks and continuations inline; here that would be on the one
                // ticker every connection shares, so a slow one would hold up keep-alive and timeouts for all.
                ThreadPool.UnsafeQueueUserWorkItem(static s => s.Connection.CancelAndRecycle(s.Request), (Connection: this, Request: request), preferLocal: false);
            }
            else
            {
                CancelAndRecycle(request);
            }
        }

        _app.OnRequestDrained();
    }

    private void CancelAndRecycle(ConnMsgRequest request)
    {
        request.Cancel();
        Recycle(request); // the table's reference, which the timeout took over
    }

    async ValueTask IWebSocketSession.OnClosedAsync()
    {
        if (Interlocked.Exchange(ref _closedFlag, 1) != 0)
        {
            return;
        }

        if (_batchCounts.Completed != 0)
        {
            // A read batch that ended in a fault never reached its end: its answered requests still count.
            FlushBatchCounts(Stopwatch.GetElapsedTime(_transport.BatchTimestamp));
        }

        foreach (ConnMsgRequest request in _inFlight.RemoveAll())
        {
            request.TryMarkAnswered();
            request.Cancel();
            _app.Metrics.InFlightChanged(-1);
            Recycle(request);
        }

        _app.OnRequestDrained();
        FailPendingOutboundRequests();
        foreach (Topics.Topic topic in TakeSubscriptions())
        {
            _app.Topics.RemoveSubscriber(topic, this);
        }

        try
        {
            Volatile.Read(ref _closedSource)?.Cancel();
        }
        catch (AggregateException ex)
        {
            MessagingLog.CallbackFailed(_app.Logger, Id, ex);
        }

        await _app.OnDisconnectedAsync(this).ConfigureAwait(false);
    }

    /// <summary>
    /// What the synchronously answered requests of one read batch add to the metrics, kept in plain fields by the read
    /// loop: one atomic update per batch instead of four per request, and no clock read per request.
    /// </summary>
    private struct BatchCounts
    {
        public OpHandler? Handler;
        public int Completed;
        public int Confirmed;
        public int Rejected;
    }
}
