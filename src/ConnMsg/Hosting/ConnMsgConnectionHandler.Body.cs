using System.Buffers;
using System.IO.Pipelines;
using ConnMsg.Http;
using Microsoft.AspNetCore.Connections;

namespace ConnMsg.Hosting;

public sealed partial class ConnMsgConnectionHandler
{
    /// <summary>
    /// The most bytes of a request body that are read and discarded after a plain answer: a Content-Length above it is
    /// not waited for, and a chunked body is read no further than this many bytes, framing included.
    /// </summary>
    internal const long MaxDiscardedBodyBytes = 1024 * 1024;

    /// <summary>
    /// Reads and drops the body that <paramref name="request"/> declares, by its framing (RFC 9112 §6.3), until it ends,
    /// the client ends the connection, or <paramref name="deadline"/> passes: a Content-Length of up to
    /// <see cref="MaxDiscardedBodyBytes"/>, or a chunked body of up to as many bytes. Nothing is read of a body over
    /// that limit, nor past a chunk that would take it over, nor of one whose length cannot be known (another final
    /// transfer coding, a Content-Length that is not one number: such a request is answered 400): reading it whole
    /// would let a client hold the connection with as much as it likes, and the reset its unread bytes may draw is the
    /// price RFC 9112 §9.6 allows for closing then. Nor is a body waited for that a client sending
    /// <c>Expect: 100-continue</c> has not begun: it may be holding it for a 100 that never comes. The deadline cancels
    /// the pending read rather than aborting, so that the answer already sent still goes out ahead of an orderly close.
    /// </summary>
    private async ValueTask DiscardBodyAsync(PipeReader input, HttpRequestHead request, CancellationToken deadline)
    {
        bool chunked = request.IsChunked();
        long length = 0;
        if (!chunked && (!request.TryGetContentLength(out length) || length is <= 0 or > MaxDiscardedBodyBytes))
        {
            return;
        }

        using CancellationTokenRegistration cancel = deadline.UnsafeRegister(static s => ((PipeReader)s!).CancelPendingRead(), input);
        try
        {
            // RFC 9110 §10.1.1: after a final answer without a 100 the server may close, and the client then need not send
            // the body. One that has begun to arrive is being sent regardless (as many clients do, curl after a second):
            // it is read like any other, so that the rest of it finds the connection open rather than drawing a reset.
            if (request.ExpectsContinue() && !HasBodyBegun(input))
            {
                return;
            }

            if (chunked)
            {
                await DiscardChunkedAsync(input, new ChunkedBodySkipper(MaxDiscardedBodyBytes, _options.MaxRequestLineSize)).ConfigureAwait(false);
            }
            else
            {
                await DiscardAsync(input, length).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is ConnectionResetException or ConnectionAbortedException or IOException or InvalidOperationException)
        {
            // The client left, or the connection was aborted: there is nothing more to read.
        }
    }

    /// <summary>
    /// Whether any of the body has arrived, looked at without waiting and without consuming it. False also when the
    /// deadline has already canceled the read, which then ends the discarding as it would have ended a wait.
    /// </summary>
    private static bool HasBodyBegun(PipeReader input)
    {
        if (!input.TryRead(out ReadResult result))
        {
            return false;
        }

        bool begun = !result.IsCanceled && !result.Buffer.IsEmpty;
        input.AdvanceTo(result.Buffer.Start);
        return begun;
    }

    /// <summary>Reads and drops <paramref name="length"/> bytes, or fewer when the read is canceled or the input ends.</summary>
    private static async ValueTask DiscardAsync(PipeReader input, long length)
    {
        while (length > 0)
        {
            ReadResult result = await input.ReadAsync().ConfigureAwait(false);
            long taken = Math.Min(length, result.Buffer.Length);
            input.AdvanceTo(result.Buffer.GetPosition(taken));
            length -= taken;
            if (result.IsCanceled || result.IsCompleted)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Reads and drops a chunked body to its end, or until its framing breaks or it grows past the skipper's limit, the
    /// read is canceled, or the input ends. A line cut short stays buffered, within the skipper's line limit.
    /// </summary>
    private static async ValueTask DiscardChunkedAsync(PipeReader input, ChunkedBodySkipper body)
    {
        while (true)
        {
            ReadResult result = await input.ReadAsync().ConfigureAwait(false);
            bool stop = TrySkip(ref body, result.Buffer, out SequencePosition consumed);
            input.AdvanceTo(consumed, result.Buffer.End);
            if (stop || result.IsCanceled || result.IsCompleted)
            {
                return;
            }
        }
    }

    /// <summary>Passes over what <paramref name="buffer"/> holds of the body; true when the reading is over, at its end or at an error.</summary>
    private static bool TrySkip(ref ChunkedBodySkipper body, in ReadOnlySequence<byte> buffer, out SequencePosition consumed)
    {
        var reader = new SequenceReader<byte>(buffer);
        bool ended = body.TrySkip(ref reader, out ChunkedBodyError error);
        consumed = reader.Position;
        return ended || error != ChunkedBodyError.None;
    }
}
