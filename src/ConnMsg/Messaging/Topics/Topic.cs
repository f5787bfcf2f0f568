using ConnMsg.WebSockets;

namespace ConnMsg.Messaging.Topics;

/// <summary>
/// One topic: its subscribers and, for history topics, its sequence and kept Inds. Publishing encodes the Ind once
/// and queues the same frame to every subscriber.
/// </summary>
/// <remarks>
/// Thread-safe. One lock per topic orders publishes (so every subscriber sees a topic's Inds in publish order) and makes
/// subscribe-with-replay atomic with respect to publishes (no gap, no duplicate). The work under it is only queueing:
/// a slow subscriber never blocks it, because queueing never waits.
/// </remarks>
internal sealed class Topic
{
    private readonly object _lock = new();
    private readonly HistoryRing? _history;
    // The subscribers' transports, not their sessions: a publish queues straight into each, one pointer fewer to chase
    // per subscriber.
    private WebSocketConnection[] _subscribers = Array.Empty<WebSocketConnection>();
    private int _count;
    private bool _retired;
    private long _lastActivityMs;

    /// <summary>
    /// A topic; with <paramref name="historyCapacity"/> above 0 it keeps history, up to that many Inds and
    /// <paramref name="historyCapacityBytes"/> bytes of them, counting seq from <paramref name="seqOrigin"/>.
    /// </summary>
    public Topic(string name, int historyCapacity, long historyCapacityBytes, long seqOrigin)
    {
        Name = name;
        _lastActivityMs = Environment.TickCount64;
        if (historyCapacity > 0)
        {
            _history = new HistoryRing(historyCapacity, historyCapacityBytes, seqOrigin);
        }
    }

    public string Name { get; }

    public bool KeepsHistory => _history is not null;

    public int SubscriberCount => Volatile.Read(ref _count);

    /// <summary>The last seq issued (the origin when none was); 0 for a topic without history.</summary>
    public long LastSeq
    {
        get
        {
            lock (_lock)
            {
                return _history?.LastSeq ?? 0;
            }
        }
    }

    /// <summary>Publishes one Ind; returns how many subscribers it was queued to, or -1 if the topic was retired.</summary>
    public int Publish(ReadOnlySpan<byte> data, bool validateData, Diagnostics.MessagingMetrics metrics)
    {
        lock (_lock)
        {
            if (_retired)
            {
                return -1;
            }

            if (_history is not null)
            {
                // Only history topics are retired for idleness (TryRetireIdle); the others go with their last subscriber.
                _lastActivityMs = Environment.TickCount64;
            }

            long seq = _history is null ? 0 : _history.LastSeq + 1;
            OutboundFrame frame = MessageWriter.Ind(Name, seq, data, validateData);
            int delivered = 0;
            WebSocketConnection[] subscribers = _subscribers;
            frame.AddRef(_count); // one per subscriber; Enqueue takes it over, or releases it when it drops the frame
            WebSockets.DeferredDrains.NoteFanOut(_count);
            for (int i = 0; i < _count; i++)
            {
                if (subscribers[i].Enqueue(frame))
                {
                    delivered++;
                }
            }

            if (_history is not null)
            {
                frame.AddRef();
                _history.Append(seq, frame);
            }

            frame.Release();
            metrics.IndPublished(delivered, _count - delivered);
            return delivered;
        }
    }

    /// <summary>
    /// Adds <paramref name="connection"/>; for a history topic with <paramref name="since"/>, first replays what it missed.
    /// Queues the <c>cfm</c> (when <paramref name="rawId"/> is not empty) before any later Ind.
    /// </summary>
    public SubscribeOutcome TrySubscribe(ConnMsgConnection connection, long? since, ReadOnlySpan<byte> rawId)
    {
        lock (_lock)
        {
            if (_retired)
            {
                return SubscribeOutcome.TopicRetired;
            }

            // A connection that has already closed (a server-side Subscribe racing its close) is not listed: its close
            // took back the subscriptions it had, and would never come for this one. The topic may have been created for
            // this subscribe: left with nobody in it, one without history would never be retired (RemoveSubscriber
            // retires it, and no subscriber will leave), so it goes now; a history topic waits for its retention.
            if (!connection.AddSubscription(this))
            {
                if (_count == 0 && _history is null)
                {
                    _retired = true;
                    return SubscribeOutcome.ConnectionClosedTopicRetired;
                }

                return SubscribeOutcome.ConnectionClosed;
            }

            if (_history is not null)
            {
                long current = _history.LastSeq;
                if (since is long n)
                {
                    // since 0: the client has seen no Ind of the topic, so everything from the topic's origin is missed
                    // (with seq counted from the clock, nothing between 0 and the origin ever existed).
                    long from = n == 0 ? _history.Origin : n;
                    bool recovered = from <= current && from + 1 >= _history.OldestSeq;
                    if (recovered)
                    {
                        _history.Replay(from, connection);
                    }

                    Confirm(connection, rawId, recovered, current, since: true);
                }
                else
                {
                    Confirm(connection, rawId, recovered: true, current, since: false);
                }
            }
            else if (!rawId.IsEmpty)
            {
                connection.Send(MessageWriter.Cfm(rawId, default));
            }

            if (Array.IndexOf(_subscribers, connection.Transport, 0, _count) < 0)
            {
                if (_count == _subscribers.Length)
                {
                    Array.Resize(ref _subscribers, Math.Max(4, _count * 2));
                }

                _subscribers[_count] = connection.Transport;
                Volatile.Write(ref _count, _count + 1);
            }

            return SubscribeOutcome.Subscribed;
        }
    }

    /// <summary>Removes <paramref name="connection"/>; returns true when a topic without history is left empty and was retired.</summary>
    public bool RemoveSubscriber(ConnMsgConnection connection)
    {
        lock (_lock)
        {
            int i = Array.IndexOf(_subscribers, connection.Transport, 0, _count);
            if (i >= 0)
            {
                // Swap-remove: order among subscribers does not matter, order of Inds per subscriber does (kept by the lock).
                _subscribers[i] = _subscribers[_count - 1];
                _subscribers[_count - 1] = null!;
                Volatile.Write(ref _count, _count - 1);
            }

            _lastActivityMs = Environment.TickCount64;
            if (_count == 0 && _history is null)
            {
                _retired = true;
                return true;
            }

            return false;
        }
    }

    /// <summary>Retires a history topic nobody has subscribed to or published on for <paramref name="retentionMs"/>.</summary>
    public bool TryRetireIdle(long nowMs, long retentionMs)
    {
        lock (_lock)
        {
            if (_retired || _count != 0 || nowMs - _lastActivityMs < retentionMs)
            {
                return false;
            }

            _retired = true;
            return true;
        }
    }

    private static void Confirm(ConnMsgConnection connection, ReadOnlySpan<byte> rawId, bool recovered, long current, bool since)
    {
        if (rawId.IsEmpty)
        {
            return;
        }

        connection.Send(MessageWriter.Cfm(rawId, (recovered, current, since), static (w, s) =>
        {
            w.WriteStartObject();
            if (s.since)
            {
                w.WriteBoolean("recovered"u8, s.recovered);
                if (!s.recovered)
                {
                    w.WriteNumber("seq"u8, s.current);
                }
            }
            else
            {
                w.WriteNumber("seq"u8, s.current);
            }

            w.WriteEndObject();
        }));
    }
}
