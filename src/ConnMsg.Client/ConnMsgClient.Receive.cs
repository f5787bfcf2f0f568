using System.Text.Json;
using ConnMsg.Client.Internal;
using ConnMsg.Messaging;

namespace ConnMsg.Client;

public sealed partial class ConnMsgClient
{
    void IConnectionOwner.OnMessage(Connection connection, ReadOnlySpan<byte> message)
    {
        // Nearly every message is the answer to one of our requests, in the one shape servers write it; it needs no
        // topic buffer, whose stackalloc would be zeroed for every message.
        if (EnvelopeReader.TryReadCanonicalCfm(message, out var answer))
        {
            OnAnswer(connection, ref answer);
            return;
        }

        OnOtherMessage(connection, message);
    }

    private void OnOtherMessage(Connection connection, ReadOnlySpan<byte> message)
    {
        Span<char> topic = stackalloc char[EnvelopeReader.MaxTopicChars];
        if (!EnvelopeReader.TryReadGeneral(message, topic, out var envelope, out string? error))
        {
            ConnMsgClientLog.BadMessage(_logger, error!);

            // A request we cannot read still deserves its one answer (PROTOCOL §4); Inds expect none.
            if (envelope.Kind == MessageKind.Req)
            {
                SendAnswer(connection, EnvelopeWriter.WriteRej(envelope.RawId, "bad_message", error));
            }
            else if (envelope.Kind is MessageKind.Cfm or MessageKind.Rej && envelope.IntegerId is { } id)
            {
                // Unreadable or not, it is the request's one answer (PROTOCOL §1): nothing else will come for it, and
                // waiting on would only end at its timeout, holding its in-flight slot until then.
                OnMalformedAnswer(connection, envelope.Kind, id, error!);
            }

            return;
        }

        switch (envelope.Kind)
        {
            case MessageKind.Cfm:
            case MessageKind.Rej:
                OnAnswer(connection, ref envelope);
                break;
            case MessageKind.Ind:
                OnInd(connection, topic[..envelope.TopicLength], ref envelope);
                break;
            case MessageKind.Req:
                OnServerRequest(connection, ref envelope);
                break;
        }
    }

    private void OnAnswer(Connection connection, ref Envelope envelope)
    {
        // Only integer ids are ours; anything else (or an id no longer pending) is an answer nobody awaits.
        if (envelope.IntegerId is not { } id || !connection.TryTakePending(id, out var pending))
        {
            ConnMsgClientLog.AnswerDiscarded(_logger, envelope.IntegerId ?? -1);
            return;
        }

        pending!.OnSettled(envelope.Kind == MessageKind.Cfm);
        if (pending.IsAbandoned)
        {
            ConnMsgClientLog.AnswerDiscarded(_logger, id);
            return;
        }

        if (envelope.Kind != MessageKind.Cfm)
        {
            FailAnswered(connection, pending, new ConnMsgRejectedException(envelope.Code!, envelope.Reason));
        }
        else if (pending.DeferCompletion)
        {
            pending.Stage(envelope.Data);
            connection.AddToReleaseBatch(pending);
        }
        else
        {
            pending.Complete(envelope.Data);
        }
    }

    /// <summary>A <c>cfm</c> or <c>rej</c> that breaks PROTOCOL §3 but names one of our requests: it fails that request.</summary>
    private void OnMalformedAnswer(Connection connection, MessageKind kind, long id, string error)
    {
        if (!connection.TryTakePending(id, out var pending))
        {
            ConnMsgClientLog.AnswerDiscarded(_logger, id);
            return;
        }

        // A cfm, however broken, says the server acted on the request (a $subscribe may be live); a rej says it did not.
        pending!.OnSettled(kind == MessageKind.Cfm);
        if (pending.IsAbandoned)
        {
            ConnMsgClientLog.AnswerDiscarded(_logger, id);
            return;
        }

        string what = kind == MessageKind.Cfm ? "cfm" : "rej";
        FailAnswered(connection, pending, new ConnMsgException($"The server's {what} answering request {id} is malformed: {error}."));
    }

    /// <summary>Fails a request taken out of the pending table by its answer, in the request's completion mode.</summary>
    private static void FailAnswered(Connection connection, PendingRequest pending, Exception error)
    {
        if (pending.DeferCompletion)
        {
            pending.StageFailure(error);
            connection.AddToReleaseBatch(pending);
        }
        else
        {
            pending.Fail(error);
        }
    }

    private void OnInd(Connection connection, ReadOnlySpan<char> topic, ref Envelope envelope)
    {
        if (topic.SequenceEqual("$session"))
        {
            connection.SetSession(ReadSession(envelope.Data, connection.MaxMessageSize, _options.MaxInFlight));
            return;
        }

        // Looked up by span: no string per Ind.
        if (!_topicsBySpan.TryGetValue(topic, out var state))
        {
            ConnMsgClientLog.IndWithoutSubscriber(_logger, topic.ToString());
            return;
        }

        if (envelope.Seq is { } seq)
        {
            long last = state.LastSeq;
            if (!state.TryAdvance(seq))
            {
                // A replayed Ind the application already saw: the replay after a reconnect overlaps by design.
                ConnMsgClientLog.DuplicateIndDropped(_logger, state.Topic, seq, last);
                return;
            }

            if (last != 0 && seq != last + 1)
            {
                ConnMsgClientLog.SeqGap(_logger, state.Topic, last + 1, seq);
            }
        }

        var subscribers = state.Subscribers;
        if (subscribers.Length == 0)
        {
            return;
        }

        // One copy out of the reused receive buffer, shared by every local subscriber.
        var ind = new ConnMsgInd(state.Topic, envelope.Seq, envelope.Data.IsEmpty ? s_null : envelope.Data.ToArray());
        foreach (var subscriber in subscribers)
        {
            subscriber.Deliver(ind);
        }
    }

    /// <summary>The largest <c>keepAlive</c> a <c>$session</c> is taken to say (about 68 years); more is clamped to it.</summary>
    private const double MaxKeepAliveSeconds = int.MaxValue;

    /// <summary>Reads <c>$session</c> (PROTOCOL §5.1); a limit it does not state stays what the client assumed until now.</summary>
    private static ConnMsgSession ReadSession(ReadOnlySpan<byte> data, int defaultMaxMessage, int defaultMaxInFlight)
    {
        string? id = null;
        double keepAlive = 15;
        int maxMessage = defaultMaxMessage;
        int maxInFlight = defaultMaxInFlight;
        try
        {
            var reader = new Utf8JsonReader(data);
            if (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
            {
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    // A lone surrogate escape is no text (ValueTextEquals and GetString throw on it, and a throw here
                    // would lose the limits too): in a member name, an unknown member; in the id, no id.
                    if (JsonEscapes.HasLoneSurrogate(ref reader))
                    {
                        reader.Read();
                        reader.Skip();
                    }
                    else if (reader.ValueTextEquals("id"u8))
                    {
                        reader.Read();
                        id = reader.TokenType == JsonTokenType.String && !JsonEscapes.HasLoneSurrogate(ref reader) ? reader.GetString() : null;
                    }
                    else if (reader.ValueTextEquals("keepAlive"u8))
                    {
                        reader.Read();
                        if (reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out double value))
                        {
                            // Informational only, but TimeSpan.FromSeconds throws beyond about 29,000 years, and a
                            // throw here would lose the limits too.
                            keepAlive = Math.Clamp(value, 0, MaxKeepAliveSeconds);
                        }
                    }
                    else if (reader.ValueTextEquals("maxMessage"u8))
                    {
                        reader.Read();
                        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out int value) && value > 0)
                        {
                            maxMessage = value;
                        }
                    }
                    else if (reader.ValueTextEquals("maxInFlight"u8))
                    {
                        reader.Read();
                        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out int value) && value > 0)
                        {
                            maxInFlight = value;
                        }
                    }
                    else
                    {
                        reader.Read();
                        reader.Skip();
                    }
                }
            }
        }
        catch (JsonException)
        {
            // A malformed $session leaves the defaults in place; the limits then stay conservative.
        }

        return new ConnMsgSession(id, TimeSpan.FromSeconds(keepAlive), maxMessage, maxInFlight);
    }

    /// <summary>Queues an answer to a server request; a dead connection simply drops it (its request died with it).</summary>
    private static void SendAnswer(Connection connection, OutboundMessage answer)
    {
        // Never waits for room: this runs on the receive loop, and the server bounds its own requests in flight.
        if (!connection.TrySendUnbounded(answer))
        {
            answer.Return();
        }
    }
}
