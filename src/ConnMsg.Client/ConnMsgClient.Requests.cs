using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using ConnMsg.Client.Internal;

namespace ConnMsg.Client;

public sealed partial class ConnMsgClient
{
    private const string ReflectionMessage = "Uses reflection-based JSON serialisation; use the JsonTypeInfo overloads for trimming/AOT.";

    /// <summary>Sends a request and returns its <c>cfm</c> data deserialised with reflection-based serialisation.</summary>
    /// <typeparam name="TResult">The type of the answer's <c>data</c>.</typeparam>
    /// <param name="op">The operation, e.g. <c>orders.place</c>.</param>
    /// <param name="data">The request's <c>data</c>; null sends none.</param>
    /// <param name="cancellationToken">Cancels waiting; a late answer is then discarded.</param>
    /// <exception cref="ConnMsgRejectedException">The server answered <c>rej</c>.</exception>
    /// <exception cref="ConnMsgException">The server's answer was malformed (e.g. a <c>rej</c> without <c>code</c>).</exception>
    /// <exception cref="ConnMsgConnectionLostException">The connection dropped while the request was in flight.</exception>
    /// <exception cref="ConnMsgMessageTooLargeException">The encoded request exceeds the server's <c>maxMessage</c>; nothing was sent.</exception>
    /// <exception cref="TimeoutException">No answer within <see cref="ConnMsgClientOptions.RequestTimeout"/>.</exception>
    [RequiresUnreferencedCode(ReflectionMessage)]
    [RequiresDynamicCode(ReflectionMessage)]
    public Task<TResult?> RequestAsync<TResult>(string op, object? data, CancellationToken cancellationToken = default)
        => RequestAsync<TResult>(op, data, _options.RequestTimeout, cancellationToken);

    /// <summary>Like <see cref="RequestAsync{TResult}(string, object?, CancellationToken)"/> with a timeout for this request.</summary>
    /// <param name="op">The operation.</param>
    /// <param name="data">The request's <c>data</c>; null sends none.</param>
    /// <param name="timeout">How long to wait for the answer; <see cref="Timeout.InfiniteTimeSpan"/> waits indefinitely.</param>
    /// <param name="cancellationToken">Cancels waiting; a late answer is then discarded.</param>
    [RequiresUnreferencedCode(ReflectionMessage)]
    [RequiresDynamicCode(ReflectionMessage)]
    public Task<TResult?> RequestAsync<TResult>(string op, object? data, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var serializerOptions = _options.JsonSerializerOptions ?? JsonSerializerOptions.Web;
        var resultType = (JsonTypeInfo<TResult>)serializerOptions.GetTypeInfo(typeof(TResult));
        var dataType = data is null ? null : serializerOptions.GetTypeInfo(data.GetType());
        return SendAsync(op, (data, dataType), data is null ? null : static (w, s) => JsonSerializer.Serialize(w, s.data, s.dataType!),
            new JsonPendingRequest<TResult>(0, resultType, Continuations), timeout, cancellationToken);
    }

    /// <summary>Sends a request and returns its <c>cfm</c> data, both serialised with source-generated type infos (AOT-friendly).</summary>
    /// <param name="op">The operation.</param>
    /// <param name="data">The request's <c>data</c>.</param>
    /// <param name="requestType">Type info of <typeparamref name="TRequest"/>, e.g. from a <c>JsonSerializerContext</c>.</param>
    /// <param name="resultType">Type info of <typeparamref name="TResult"/>.</param>
    /// <param name="cancellationToken">Cancels waiting; a late answer is then discarded.</param>
    /// <exception cref="ConnMsgRejectedException">The server answered <c>rej</c>.</exception>
    /// <exception cref="ConnMsgException">The server's answer was malformed (e.g. a <c>rej</c> without <c>code</c>).</exception>
    /// <exception cref="ConnMsgConnectionLostException">The connection dropped while the request was in flight.</exception>
    /// <exception cref="ConnMsgMessageTooLargeException">The encoded request exceeds the server's <c>maxMessage</c>; nothing was sent.</exception>
    /// <exception cref="TimeoutException">No answer within <see cref="ConnMsgClientOptions.RequestTimeout"/>.</exception>
    public Task<TResult?> RequestAsync<TRequest, TResult>(string op, TRequest data, JsonTypeInfo<TRequest> requestType, JsonTypeInfo<TResult> resultType, CancellationToken cancellationToken = default)
        => RequestAsync(op, data, requestType, resultType, _options.RequestTimeout, cancellationToken);

    /// <summary>Like <see cref="RequestAsync{TRequest, TResult}(string, TRequest, JsonTypeInfo{TRequest}, JsonTypeInfo{TResult}, CancellationToken)"/> with a timeout for this request.</summary>
    /// <param name="op">The operation.</param>
    /// <param name="data">The request's <c>data</c>.</param>
    /// <param name="requestType">Type info of <typeparamref name="TRequest"/>.</param>
    /// <param name="resultType">Type info of <typeparamref name="TResult"/>.</param>
    /// <param name="timeout">How long to wait for the answer; <see cref="Timeout.InfiniteTimeSpan"/> waits indefinitely.</param>
    /// <param name="cancellationToken">Cancels waiting; a late answer is then discarded.</param>
    public Task<TResult?> RequestAsync<TRequest, TResult>(string op, TRequest data, JsonTypeInfo<TRequest> requestType, JsonTypeInfo<TResult> resultType, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requestType);
        ArgumentNullException.ThrowIfNull(resultType);
        return SendAsync(op, (data, requestType), static (w, s) => JsonSerializer.Serialize(w, s.data, s.requestType),
            new JsonPendingRequest<TResult>(0, resultType, Continuations), timeout, cancellationToken);
    }

    /// <summary>Sends a request without <c>data</c> and returns its <c>cfm</c> data deserialised with a source-generated type info.</summary>
    /// <param name="op">The operation.</param>
    /// <param name="resultType">Type info of <typeparamref name="TResult"/>.</param>
    /// <param name="cancellationToken">Cancels waiting; a late answer is then discarded.</param>
    public Task<TResult?> RequestAsync<TResult>(string op, JsonTypeInfo<TResult> resultType, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(resultType);
        return SendAsync<object?, TResult?>(op, null, null, new JsonPendingRequest<TResult>(0, resultType, Continuations), _options.RequestTimeout, cancellationToken);
    }

    /// <summary>Sends a request whose <c>data</c> is raw UTF-8 JSON and returns the <c>cfm</c>'s <c>data</c> as raw UTF-8 JSON.</summary>
    /// <param name="op">The operation.</param>
    /// <param name="data">One complete JSON value (validated), or empty to send no <c>data</c>.</param>
    /// <param name="cancellationToken">Cancels waiting; a late answer is then discarded.</param>
    /// <returns>The answer's <c>data</c>; the JSON literal <c>null</c> when it carried none.</returns>
    /// <exception cref="ConnMsgRejectedException">The server answered <c>rej</c>.</exception>
    /// <exception cref="ConnMsgException">The server's answer was malformed (e.g. a <c>rej</c> without <c>code</c>).</exception>
    /// <exception cref="ConnMsgConnectionLostException">The connection dropped while the request was in flight.</exception>
    /// <exception cref="ConnMsgMessageTooLargeException">The encoded request exceeds the server's <c>maxMessage</c>; nothing was sent.</exception>
    /// <exception cref="TimeoutException">No answer within <see cref="ConnMsgClientOptions.RequestTimeout"/>.</exception>
    public Task<ReadOnlyMemory<byte>> RequestAsync(string op, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
        => RequestAsync(op, data, _options.RequestTimeout, cancellationToken);

    /// <summary>Like <see cref="RequestAsync(string, ReadOnlyMemory{byte}, CancellationToken)"/> with a timeout for this request.</summary>
    /// <param name="op">The operation.</param>
    /// <param name="data">One complete JSON value (validated), or empty to send no <c>data</c>.</param>
    /// <param name="timeout">How long to wait for the answer; <see cref="Timeout.InfiniteTimeSpan"/> waits indefinitely.</param>
    /// <param name="cancellationToken">Cancels waiting; a late answer is then discarded.</param>
    public Task<ReadOnlyMemory<byte>> RequestAsync(string op, ReadOnlyMemory<byte> data, TimeSpan timeout, CancellationToken cancellationToken = default)
        => SendAsync(op, data, data.IsEmpty ? null : static (w, s) => w.WriteRawValue(s.Span, skipInputValidation: false),
            new RawPendingRequest(0, Continuations), timeout, cancellationToken);

    private Task<TResult> SendAsync<TState, TResult>(string op, TState state, DataWriter<TState>? data, PendingRequest<TResult> pending, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        NameGuard.ThrowIfInvalid(op, NameGuard.MaxOpBytes, nameof(op));
        long id = NextId();
        pending.Id = id;

        // Encoding is synchronous and on the caller's thread: a serialisation error surfaces here, before anything is queued.
        var message = EnvelopeWriter.WriteRequest(id, op, state, data);
        return TrySendNow(message, pending, timeout, cancellationToken) ?? ExecuteAsync(message, pending, null, timeout, cancellationToken);
    }

    /// <summary>
    /// The fast path of a request: the connection is open and has a free slot, so nothing needs to wait before
    /// sending, and the connection's timeout sweep stands in for a per-request timer and linked token. Null (nothing
    /// done, the message still the caller's) when any of that does not hold.
    /// </summary>
    private Task<TResult>? TrySendNow<TResult>(OutboundMessage message, PendingRequest<TResult> pending, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (timeout == Timeout.InfiniteTimeSpan || timeout < _minSweptTimeout || cancellationToken.IsCancellationRequested
            || Volatile.Read(ref _current) is not { IsClosed: false } connection || message.Length > connection.MaxMessageSize)
        {
            return null;
        }

        // Stopwatch ticks, not Environment.TickCount64: that clock is coarse (a few ms on Linux), and a deadline taken
        // from it could expire a request a tick before its timeout.
        pending.Deadline = System.Diagnostics.Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * System.Diagnostics.Stopwatch.Frequency) + 1;
        pending.Timeout = timeout;
        pending.CancellationToken = cancellationToken;
        if (!connection.TryTakeSlotAndRegister(pending))
        {
            pending.Deadline = 0;
            return null;
        }

        if (connection.TrySend(message) != SendOutcome.Queued)
        {
            // Full (the slow path waits for room with a timer and token) or closing (the connection's sweep fails
            // the request unless we take it back first): either way it was not sent.
            if (connection.TryTakePending(pending.Id, out _))
            {
                pending.Deadline = 0;
                return null;
            }

            message.Return();
            return AwaitAnswer(pending);
        }

        return AwaitAnswer(pending);
    }

    /// <summary>The caller's task: the request's own, with the caller's token hooked up to abandon it.</summary>
    private static Task<TResult> AwaitAnswer<TResult>(PendingRequest<TResult> pending)
    {
        if (pending.CancellationToken.CanBeCanceled)
        {
            pending.AbandonOnCancellation();
        }

        return pending.Task;
    }

    /// <summary>Where answers resume the caller (see <see cref="ConnMsgClientOptions.RunContinuationsAsynchronously"/>).</summary>
    private ContinuationMode Continuations => _options.RunContinuationsAsynchronously ? ContinuationMode.Batched : ContinuationMode.Inline;

    private long NextId() => Interlocked.Increment(ref _lastId);

    /// <summary>
    /// Sends an encoded request and awaits its answer. With no <paramref name="pinned"/> connection it waits for the
    /// open one and, if that dies before the message was queued, moves on to the next (nothing was sent, so this is
    /// safe); with one (re-subscription during reconnect) a dead connection fails the request.
    /// </summary>
    private async Task<TResult> ExecuteAsync<TResult>(OutboundMessage message, PendingRequest<TResult> pending, Connection? pinned, TimeSpan timeout, CancellationToken cancellationToken)
    {
        CancellationTokenSource? timeoutSource = null;
        var token = cancellationToken;
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeoutSource.CancelAfter(timeout);
            token = timeoutSource.Token;
        }

        try
        {
            while (true)
            {
                Connection connection;
                try
                {
                    connection = pinned ?? await WaitForOpenAsync(token).ConfigureAwait(false);
                }
                catch (OperationCanceledException e) when (token.IsCancellationRequested)
                {
                    throw Stopped(cancellationToken, timeout, e);
                }

                if (message.Length > connection.MaxMessageSize)
                {
                    throw new ConnMsgMessageTooLargeException(message.Length, connection.MaxMessageSize);
                }

                try
                {
                    await connection.WaitForSlotAsync(token).ConfigureAwait(false);
                }
                catch (OperationCanceledException e) when (token.IsCancellationRequested)
                {
                    throw Stopped(cancellationToken, timeout, e);
                }

                if (!connection.TryRegister(pending))
                {
                    if (pinned is not null)
                    {
                        throw new ConnMsgConnectionLostException("The connection was lost before the request could be sent.", connection.CloseReason);
                    }

                    continue;
                }

                // Waits in line while the connection's send queue is full (MaxPendingSendBytes); usually queues at once.
                var outcome = await connection.SendAsync(message, token).ConfigureAwait(false);
                if (outcome == SendOutcome.Cancelled)
                {
                    // Never sent: it leaves the table, giving its slot back, and fails like any cancelled request.
                    if (connection.TryTakePending(pending.Id, out _))
                    {
                        throw Stopped(cancellationToken, timeout, new OperationCanceledException(token));
                    }

                    // The connection died meanwhile and failed it already.
                    return await pending.Task.ConfigureAwait(false);
                }

                if (outcome != SendOutcome.Queued)
                {
                    // Closing: the connection's sweep fails the request unless we take it back first.
                    if (connection.TryTakePending(pending.Id, out _))
                    {
                        if (pinned is not null)
                        {
                            throw new ConnMsgConnectionLostException("The connection was lost before the request could be sent.", connection.CloseReason);
                        }

                        // The transport refuses sends from its close handshake on, a moment before the connection is
                        // marked closed: wait for that instead of spinning, then retry on the next connection.
                        try
                        {
                            await connection.Completion.WaitAsync(token).ConfigureAwait(false);
                        }
                        catch (OperationCanceledException e) when (token.IsCancellationRequested)
                        {
                            throw Stopped(cancellationToken, timeout, e);
                        }

                        continue;
                    }

                    return await pending.Task.ConfigureAwait(false);
                }

                message = default; // the send loop owns it now
                using (token.Register(static s =>
                {
                    var (pending, cancellationToken, timeout) = ((PendingRequest, CancellationToken, TimeSpan))s!;

                    // The entry stays (the server still counts the request) but is marked, so its late answer is discarded.
                    pending.Abandon(Stopped(cancellationToken, timeout, null));
                }, ((PendingRequest)pending, cancellationToken, timeout)))
                {
                    return await pending.Task.ConfigureAwait(false);
                }
            }
        }
        finally
        {
            message.Return();
            timeoutSource?.Dispose();
        }
    }

    private static Exception Stopped(CancellationToken cancellationToken, TimeSpan timeout, Exception? inner)
        => cancellationToken.IsCancellationRequested
            ? new OperationCanceledException("The request was cancelled.", inner, cancellationToken)
            : new TimeoutException($"No answer within {timeout}.", inner);
}
