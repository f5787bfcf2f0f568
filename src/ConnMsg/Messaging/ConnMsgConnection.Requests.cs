using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace ConnMsg.Messaging;

public sealed partial class ConnMsgConnection
{
    // Server-initiated requests (PROTOCOL.md §1: both peers are equal). Their own id space, numbers from 1.
    private ConcurrentDictionary<long, TaskCompletionSource<byte[]>>? _outboundStore;
    private ConcurrentDictionary<long, TaskCompletionSource<byte[]>> _outbound => LazyInitializer.EnsureInitialized(ref _outboundStore);
    private long _nextOutboundId;

    /// <summary>
    /// Sends a request to the client and waits for its answer: the <c>cfm</c>'s data as raw JSON (<c>null</c> when absent).
    /// </summary>
    /// <exception cref="ConnMsgRejectException">The client answered with a <c>rej</c>.</exception>
    /// <exception cref="TimeoutException">No answer within <see cref="ConnMsgOptions.RequestTimeout"/>.</exception>
    /// <exception cref="OperationCanceledException">Cancelled, or the connection closed before the answer.</exception>
    public async Task<byte[]> RequestAsync(string op, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        if (!Names.IsValid(op, Names.MaxOpBytes, allowReserved: false))
        {
            throw new ArgumentException("op must be 1..128 characters of A-Z a-z 0-9 . _ - : /.", nameof(op));
        }

        if (!data.IsEmpty && !JsonValue.IsSingleValue(data.Span))
        {
            throw new ArgumentException("data must be exactly one JSON value, in UTF-8.", nameof(data));
        }

        // A request its caller has already given up on is not sent: the client would act on it for nothing.
        cancellationToken.ThrowIfCancellationRequested();
        long id = Interlocked.Increment(ref _nextOutboundId);
        var answer = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        _outbound[id] = answer;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, Closed);
        timeout.CancelAfter(_app.Options.RequestTimeout);
        try
        {
            if (Closed.IsCancellationRequested || !Send(MessageWriter.Req(id, op, data.Span)))
            {
                throw new OperationCanceledException("The connection is closed.", Closed);
            }

            return await answer.Task.WaitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && !Closed.IsCancellationRequested)
        {
            throw new TimeoutException($"The client did not answer '{op}' within {_app.Options.RequestTimeout}.");
        }
        finally
        {
            _outbound.TryRemove(id, out _);
        }
    }

    /// <summary>
    /// Typed form of <see cref="RequestAsync(string, ReadOnlyMemory{byte}, CancellationToken)"/>, with source-generated
    /// JSON metadata; <paramref name="data"/> is written with <paramref name="requestInfo"/>'s options, but never indented.
    /// </summary>
    public async Task<TResult?> RequestAsync<TRequest, TResult>(string op, TRequest data, JsonTypeInfo<TRequest> requestInfo,
        JsonTypeInfo<TResult> resultInfo, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requestInfo);
        byte[] json = JsonScratch.SerializeToArray(data, requestInfo);
        byte[] answer = await RequestAsync(op, json, cancellationToken).ConfigureAwait(false);
        return JsonSerializer.Deserialize(answer, resultInfo);
    }

    private void OnAnswer(ReadOnlySpan<byte> json, in Envelope envelope)
    {
        if (!TryTakeOutbound(json, envelope, out TaskCompletionSource<byte[]>? answer))
        {
            return;
        }

        if (envelope.Kind == MessageKind.Cfm)
        {
            byte[] data = envelope.Data.End.Value == 0 ? "null"u8.ToArray() : json[envelope.Data].ToArray();
            answer.TrySetResult(data);
        }
        else
        {
            string code = System.Text.Encoding.UTF8.GetString(json[envelope.Code]);
            // The reason is text for people (PROTOCOL §3): a lone surrogate in it is shown as U+FFFD, and the rej still answers.
            string? reason = envelope.Reason.End.Value == 0 ? null : JsonEscapes.GetStringReplacingLoneSurrogates(json[envelope.Reason]);
            answer.TrySetException(new ConnMsgRejectException(code, reason));
        }
    }

    /// <summary>The peer answered one of our requests with a message that breaks PROTOCOL §3: that request fails at once.</summary>
    private void FailOutboundRequest(ReadOnlySpan<byte> json, in Envelope envelope, string error)
    {
        if (envelope.HasId && TryTakeOutbound(json, envelope, out TaskCompletionSource<byte[]>? answer))
        {
            answer.TrySetException(new ConnMsgRejectException(RejectCodes.BadMessage, "the peer's answer was malformed: " + error));
        }
    }

    private bool TryTakeOutbound(ReadOnlySpan<byte> json, in Envelope envelope, [NotNullWhen(true)] out TaskCompletionSource<byte[]>? answer)
    {
        // Our ids are plain positive integers; anything else cannot be ours and is ignored, as are late answers.
        answer = null;
        return _outboundStore is not null
            && Utf8Parser.TryParse(json[envelope.Id], out long id, out int consumed) && consumed == envelope.Id.End.Value - envelope.Id.Start.Value
            && _outbound.TryRemove(id, out answer);
    }

    private void FailPendingOutboundRequests()
    {
        if (_outboundStore is null)
        {
            return;
        }

        foreach (KeyValuePair<long, TaskCompletionSource<byte[]>> pending in _outbound)
        {
            pending.Value.TrySetCanceled(Closed);
        }

        _outbound.Clear();
    }
}
