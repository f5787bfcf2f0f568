using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using ConnMsg.Client.Internal;
using ConnMsg.Messaging;

namespace ConnMsg.Client;

public sealed partial class ConnMsgClient
{
    private readonly ConcurrentDictionary<string, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask<ReadOnlyMemory<byte>>>> _handlers = new(StringComparer.Ordinal);

    /// <summary>
    /// Answers server-initiated requests for <paramref name="op"/> with raw JSON. The handler's result becomes the
    /// <c>cfm</c>'s <c>data</c> (empty: none); throwing <see cref="ConnMsgRejectedException"/> answers <c>rej</c> with
    /// its code and reason (<c>internal</c>, and a log entry, when the code is not <c>snake_case</c>), any other
    /// exception <c>rej</c> <c>internal</c>. Requests for ops without a handler are answered <c>rej</c>
    /// <c>unknown_op</c>. Handlers run concurrently, off the receive loop.
    /// </summary>
    /// <param name="op">The operation to answer.</param>
    /// <param name="handler">Gets the request's raw <c>data</c> (the literal <c>null</c> when absent) and a token cancelled when the connection drops.</param>
    /// <returns>Dispose to remove the handler.</returns>
    /// <exception cref="InvalidOperationException">A handler for <paramref name="op"/> is already registered.</exception>
    public IDisposable OnRequest(string op, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask<ReadOnlyMemory<byte>>> handler)
    {
        NameGuard.ThrowIfInvalid(op, NameGuard.MaxOpBytes, nameof(op));
        ArgumentNullException.ThrowIfNull(handler);
        if (!_handlers.TryAdd(op, handler))
        {
            throw new InvalidOperationException($"A handler for '{op}' is already registered.");
        }

        return new HandlerRegistration(_handlers, op, handler);
    }

    /// <summary>Answers server-initiated requests for <paramref name="op"/> with source-generated (AOT-friendly) serialisation.</summary>
    /// <param name="op">The operation to answer.</param>
    /// <param name="requestType">Type info of the request's <c>data</c>; data it cannot read is answered <c>invalid_argument</c>.</param>
    /// <param name="resultType">Type info of the answer's <c>data</c>.</param>
    /// <param name="handler">Computes the answer; see <see cref="OnRequest(string, Func{ReadOnlyMemory{byte}, CancellationToken, ValueTask{ReadOnlyMemory{byte}}})"/>.</param>
    /// <returns>Dispose to remove the handler.</returns>
    public IDisposable OnRequest<TRequest, TResult>(string op, JsonTypeInfo<TRequest> requestType, JsonTypeInfo<TResult> resultType, Func<TRequest?, CancellationToken, ValueTask<TResult>> handler)
    {
        ArgumentNullException.ThrowIfNull(requestType);
        ArgumentNullException.ThrowIfNull(resultType);
        ArgumentNullException.ThrowIfNull(handler);
        return OnRequest(op, async (data, cancellationToken) =>
        {
            TRequest? request;
            try
            {
                request = JsonSerializer.Deserialize(data.Span, requestType);
            }
            catch (JsonException e)
            {
                throw new ConnMsgRejectedException("invalid_argument", e.Message);
            }

            var result = await handler(request, cancellationToken).ConfigureAwait(false);
            return JsonSerializer.SerializeToUtf8Bytes(result, resultType);
        });
    }

    /// <summary>Answers server-initiated requests for <paramref name="op"/> with reflection-based serialisation.</summary>
    /// <param name="op">The operation to answer.</param>
    /// <param name="handler">Computes the answer; see <see cref="OnRequest(string, Func{ReadOnlyMemory{byte}, CancellationToken, ValueTask{ReadOnlyMemory{byte}}})"/>.</param>
    /// <returns>Dispose to remove the handler.</returns>
    [RequiresUnreferencedCode(ReflectionMessage)]
    [RequiresDynamicCode(ReflectionMessage)]
    public IDisposable OnRequest<TRequest, TResult>(string op, Func<TRequest?, CancellationToken, ValueTask<TResult>> handler)
    {
        var serializerOptions = _options.JsonSerializerOptions ?? JsonSerializerOptions.Web;
        return OnRequest(op, (JsonTypeInfo<TRequest>)serializerOptions.GetTypeInfo(typeof(TRequest)),
            (JsonTypeInfo<TResult>)serializerOptions.GetTypeInfo(typeof(TResult)), handler);
    }

    private void OnServerRequest(Connection connection, ref Envelope envelope)
    {
        string op = envelope.Op!;
        if (op == "$ping")
        {
            // PROTOCOL §5.4 applies both ways: echo the data.
            SendAnswer(connection, EnvelopeWriter.WriteCfm(envelope.RawId, envelope.Data));
            return;
        }

        if (!_handlers.TryGetValue(op, out var handler))
        {
            SendAnswer(connection, EnvelopeWriter.WriteRej(envelope.RawId, "unknown_op", $"No handler for '{op}'."));
            return;
        }

        // Copied: the handler runs after the receive buffer has been reused.
        byte[] id = envelope.RawId.ToArray();
        byte[] data = envelope.Data.IsEmpty ? s_null : envelope.Data.ToArray();
        _ = Task.Run(() => RunHandlerAsync(connection, op, id, data, handler));
    }

    private async Task RunHandlerAsync(Connection connection, string op, byte[] id, byte[] data, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask<ReadOnlyMemory<byte>>> handler)
    {
        OutboundMessage answer;
        try
        {
            var result = await handler(data, connection.Aborted).ConfigureAwait(false);
            answer = EnvelopeWriter.WriteCfm(id, result.Span);
            if (answer.Length > connection.MaxMessageSize)
            {
                // The server would close the connection (1009) over it; refuse it so the request still gets its one answer.
                answer.Return();
                answer = WriteRejWithin(id, "internal", "The answer exceeds the server's maxMessage.", connection.MaxMessageSize);
            }
        }
        catch (ConnMsgRejectedException e) when (Names.IsSnakeCase(e.Code))
        {
            answer = WriteRejWithin(id, e.Code, e.Reason, connection.MaxMessageSize);
        }
        catch (ConnMsgRejectedException e)
        {
            // The server refuses a rej whose code is not snake_case (PROTOCOL §3) as bad_message, and its request
            // would then end only at its timeout; internal still answers it, and the log tells the developer why.
            ConnMsgClientLog.RejectCodeNotSnakeCase(_logger, op, e.Code, e);
            answer = EnvelopeWriter.WriteRej(id, "internal", "The handler's reject code was not snake_case.");
        }
        catch (OperationCanceledException) when (connection.Aborted.IsCancellationRequested)
        {
            return; // the connection is gone; there is no one to answer
        }
        catch (Exception e)
        {
            ConnMsgClientLog.RequestHandlerFailed(_logger, op, e);

            // The reason must not leak internals (PROTOCOL §4); the details are in the log.
            answer = EnvelopeWriter.WriteRej(id, "internal", "The handler failed.");
        }

        SendAnswer(connection, answer);
    }

    /// <summary>
    /// A <c>rej</c> within the server's <c>maxMessage</c>, which closes the connection (1009) over a larger one and
    /// leaves its request unanswered: a reason too long is cut to the longest prefix that fits. Should even the bare
    /// code not fit, it answers <c>internal</c>.
    /// </summary>
    private static OutboundMessage WriteRejWithin(byte[] id, string code, string? reason, int limit)
    {
        var answer = EnvelopeWriter.WriteRej(id, code, reason);
        if (answer.Length <= limit)
        {
            return answer;
        }

        answer.Return();
        int fits = 0;
        if (!string.IsNullOrEmpty(reason))
        {
            // Searched for, not computed: escaping makes the bytes per char vary (a quote takes two, a control
            // character six, a non-ASCII one up to four). Rare, so a few trial writes are fine.
            int tooLong = reason.Length;
            while (tooLong - fits > 1)
            {
                int middle = fits + ((tooLong - fits) / 2);
                var trial = EnvelopeWriter.WriteRej(id, code, Prefix(reason, middle));
                bool fitsHere = trial.Length <= limit;
                trial.Return();
                if (fitsHere)
                {
                    fits = middle;
                }
                else
                {
                    tooLong = middle;
                }
            }
        }

        answer = EnvelopeWriter.WriteRej(id, code, fits == 0 ? null : Prefix(reason!, fits));
        if (answer.Length <= limit)
        {
            return answer;
        }

        answer.Return();
        return EnvelopeWriter.WriteRej(id, "internal", null);

        // Never splits a surrogate pair, which the JSON writer would refuse.
        static string Prefix(string text, int length) => char.IsHighSurrogate(text[length - 1]) ? text[..(length - 1)] : text[..length];
    }
}
