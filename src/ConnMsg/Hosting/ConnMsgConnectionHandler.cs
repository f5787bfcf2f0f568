using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using ConnMsg.Diagnostics;
using ConnMsg.Http;
using ConnMsg.Internal;
using ConnMsg.Messaging;
using ConnMsg.WebSockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ConnMsg.Hosting;

/// <summary>
/// The Kestrel connection handler: reads the HTTP/1.1 request head by hand, answers plain requests (<c>/healthz</c>,
/// <c>/metrics</c>, static content, 404), and upgrades valid WebSocket handshakes to a <see cref="WebSocketConnection"/>.
/// </summary>
/// <remarks>
/// <para>Thread-safe: Kestrel calls <see cref="OnConnectedAsync"/> concurrently for every connection.</para>
/// <para>
/// A request answered with a plain response is the connection's last (<c>Connection: close</c>). The body it declares
/// is read and discarded after the answer is sent and before the connection is closed (see
/// <see cref="DiscardBodyAsync"/>), as Kestrel drains a body its application left unread: closing with request bytes
/// unread, or with more still on their way, makes the TCP stack answer them with a reset, which can cost the client its
/// answer (RFC 9112 §9.6).
/// </para>
/// </remarks>
public sealed partial class ConnMsgConnectionHandler : ConnectionHandler
{
    private readonly ConnMsgOptions _options;
    private readonly ConnMsgEndpointSettings _settings;
    private readonly ConnMsgApplication _application;
    private readonly TransportMetrics _transportMetrics;
    private readonly MessagingMetrics _messagingMetrics;
    private readonly ILogger _logger;

    // The handshake's time limit, reused: about as many as handshakes run at once are ever made.
    private readonly SlotPool<ReadDeadline> _deadlines = new(256, static () => new ReadDeadline());

    internal ConnMsgConnectionHandler(IOptions<ConnMsgOptions> options, ConnMsgEndpointSettings settings, ConnMsgApplication application,
        ConnectionTicker ticker, TransportMetrics transportMetrics, MessagingMetrics messagingMetrics, ILogger<ConnMsgConnectionHandler> logger)
    {
        // Asked for, not kept: the ticker, a singleton, starts when first made and drives the keep-alive and timeouts
        // of every connection this handler opens.
        ArgumentNullException.ThrowIfNull(ticker);
        _options = options.Value;
        _settings = settings;
        _application = application;
        _transportMetrics = transportMetrics;
        _messagingMetrics = messagingMetrics;
        _logger = logger;
    }

    /// <inheritdoc />
    // The handshake lives in its own method so that its many locals die with it; the connection's one long-lived frame
    // is WebSocketConnection.RunAsync's, which awaits it.
    public override Task OnConnectedAsync(ConnectionContext connection) => WebSocketConnection.RunAsync(HandshakeAsync(connection), _application);

    /// <summary>Reads and answers the HTTP head; returns the upgraded connection (101 written, unflushed), or null when refused or gone.</summary>
    private async Task<WebSocketConnection?> HandshakeAsync(ConnectionContext connection)
    {
        PipeReader input = connection.Transport.Input;
        PipeWriter output = connection.Transport.Output;
        HttpRequestHead? head;
        long started = Stopwatch.GetTimestamp();
        ReadDeadline deadline = _deadlines.Rent();
        try
        {
            // The deadline cancels the pending read instead of throwing, so a slow client costs no exception.
            deadline.Start(input, _options.HandshakeTimeout);
            (head, HttpParseError error, bool gone) = await ReadHeadAsync(input).ConfigureAwait(false);

            // A deadline that fired after the head was read has left a cancel pending on the pipe, which the WebSocket
            // read loop would take for its own and end the fresh connection without a close frame. Once stopped no
            // cancel can come; one that came counts as the timeout it nearly was.
            if (deadline.Stop() && head is not null)
            {
                head = null;
                error = HttpParseError.None;
                gone = false;
            }

            if (head is null)
            {
                if (error != HttpParseError.None)
                {
                    int status = error switch
                    {
                        HttpParseError.HeadTooLarge or HttpParseError.TooManyHeaders => 431,
                        HttpParseError.UnsupportedVersion => 505,
                        _ => 400,
                    };
                    _transportMetrics.HandshakeRefused(error.ToString());
                    TransportLog.HandshakeRefused(_logger, connection.RemoteEndPoint, status, error.ToString());
                    await RespondAsync(connection, HttpResponse.Text(status, Describe(error)), headOnly: false).ConfigureAwait(false);
                }
                else if (gone)
                {
                    // Not refused: the client left (a TCP health check, a port scan, a client that gave up). Counted apart,
                    // so that such traffic does not read as clients too slow for the handshake timeout.
                    _transportMetrics.HandshakeAbandoned();
                    TransportLog.HandshakeAbandoned(_logger, connection.RemoteEndPoint);
                }
                else
                {
                    _transportMetrics.HandshakeRefused("timeout");
                    TransportLog.HandshakeTimedOut(_logger, connection.RemoteEndPoint);
                }

                return null;
            }
        }
        finally
        {
            // Stopped on every path (a throwing read included) before it may serve another connection.
            deadline.Stop();
            _deadlines.Return(deadline);
        }

        if (head.Path != _options.Path)
        {
            HttpResponse answer;
            string? refusedReason = null;
            if (!WebSocketHandshake.HasOneValidHost(head))
            {
                // RFC 9112 §3.2: any request without exactly one valid Host gets 400, not only an upgrade; counted under
                // the reason Validate gives the upgrade's, as the same failure.
                answer = WebSocketHandshake.RefuseHost(out refusedReason);
            }
            else if (!head.HasKnownBodyLength())
            {
                // RFC 9112 §6.3 (an upgrade with any body is refused in Validate): a request whose body has no knowable
                // end is answered 400 and closed, never by its route, which would answer it as though it were understood.
                refusedReason = "body_length";
                answer = HttpResponse.Text(400, "request body length cannot be determined (RFC 9112 §6.3)");
            }
            else
            {
                answer = Route(head);
            }

            if (refusedReason is not null)
            {
                _transportMetrics.HandshakeRefused(refusedReason);
                TransportLog.HandshakeRefused(_logger, connection.RemoteEndPoint, answer.Status, refusedReason);
            }

            await RespondAsync(connection, answer, head.Method == "HEAD", head).ConfigureAwait(false);
            return null;
        }

        HttpResponse? refusal = WebSocketHandshake.Validate(head, _options, out string key, out string? subProtocol, out string reason);
        if (refusal is null && _application.IsDraining)
        {
            reason = "draining";
            refusal = HttpResponse.Text(503, "server is shutting down");
        }

        if (refusal is null && _settings.Handshake is { } hook)
        {
            if (await AskHookAsync(hook, head, connection, _options.HandshakeTimeout - Stopwatch.GetElapsedTime(started)).ConfigureAwait(false)
                is not { } verdict)
            {
                // The client left while the application deliberated: nobody is there to answer.
                _transportMetrics.HandshakeAbandoned();
                TransportLog.HandshakeAbandoned(_logger, connection.RemoteEndPoint);
                return null;
            }

            if (!verdict.IsAccepted)
            {
                reason = verdict.Status switch
                {
                    401 => "unauthenticated",
                    403 => "forbidden",
                    503 => "hook_timeout",
                    _ => "hook_failed",
                };
                refusal = HttpResponse.Text(verdict.Status, verdict.Reason ?? reason);
            }
        }

        if (refusal is not null)
        {
            _transportMetrics.HandshakeRefused(reason);
            TransportLog.HandshakeRefused(_logger, connection.RemoteEndPoint, refusal.Status, reason);
            await RespondAsync(connection, refusal, headOnly: head.Method == "HEAD", head).ConfigureAwait(false);
            return null;
        }

        // The 101 is left unflushed: the $session Ind joins it in the first write.
        HttpResponseWriter.WriteSwitchingProtocols(output, key, subProtocol);
        return new WebSocketConnection(connection, head, subProtocol, _options, _transportMetrics, _logger);
    }

    /// <summary>
    /// Asks the application's handshake hook, within what is left of the handshake timeout: its token fires at that
    /// deadline or when the client leaves, and the answer is not awaited past either, whether the hook heeds its token or
    /// not. Null when the client left. A hook still running then that fails later is logged when it does.
    /// </summary>
    private async ValueTask<HandshakeVerdict?> AskHookAsync(Func<HttpRequestHead, CancellationToken, ValueTask<HandshakeVerdict>> hook,
        HttpRequestHead head, ConnectionContext connection, TimeSpan left)
    {
        CancellationToken closed = connection.ConnectionClosed;
        using var decide = new CancellationTokenSource(left > TimeSpan.Zero ? left : TimeSpan.Zero);
        using CancellationTokenRegistration leaving = closed.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), decide);
        ValueTask<HandshakeVerdict> decision = default;
        try
        {
            decision = ApplicationTask.Guard(hook(head, decide.Token));
            HandshakeVerdict verdict = decision.IsCompleted
                ? decision.Result
                : await decision.AsTask().WaitAsync(decide.Token).ConfigureAwait(false);
            return closed.IsCancellationRequested ? null : verdict;
        }
        catch (Exception) when (decide.IsCancellationRequested)
        {
            // Out of time, or the client left: what the hook decides no longer matters, but a failure still does.
            if (!decision.IsCompleted)
            {
                LogLateFailure(decision.AsTask(), connection.RemoteEndPoint);
            }

            if (closed.IsCancellationRequested)
            {
                return null;
            }

            TransportLog.HandshakeHookTimedOut(_logger, connection.RemoteEndPoint);
            return HandshakeVerdict.TimedOut;
        }
        catch (Exception ex)
        {
            // The application could not decide, so the client gets a definite answer rather than a reset, and the
            // failure is logged here rather than by Kestrel as an unhandled exception of the connection.
            TransportLog.HandshakeHookFailed(_logger, connection.RemoteEndPoint, ex);
            return HandshakeVerdict.Failed;
        }
    }

    /// <summary>
    /// Logs the failure of a hook that is still running after its handshake was answered or abandoned, once it fails.
    /// Reading the exception observes it, so that it never reaches <see cref="TaskScheduler.UnobservedTaskException"/>.
    /// </summary>
    private void LogLateFailure(Task<HandshakeVerdict> decision, EndPoint? remoteEndPoint) =>
        _ = decision.ContinueWith(static (task, state) =>
        {
            (ILogger logger, EndPoint? remote) = ((ILogger, EndPoint?))state!;
            AggregateException failure = task.Exception!;
            TransportLog.HandshakeHookFailedLate(logger, remote, failure.InnerExceptions.Count == 1 ? failure.InnerExceptions[0] : failure);
        }, (_logger, remoteEndPoint), CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);

    /// <summary>
    /// Reads the request head: the head; or a parse error; or neither, when the deadline canceled the read
    /// (<c>Gone</c> false) or the client ended the connection or it failed first (<c>Gone</c> true).
    /// </summary>
    private async ValueTask<(HttpRequestHead? Head, HttpParseError Error, bool Gone)> ReadHeadAsync(PipeReader input)
    {
        while (true)
        {
            ReadResult result;
            try
            {
                result = await input.ReadAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is ConnectionResetException or ConnectionAbortedException or IOException)
            {
                return (null, HttpParseError.None, true);
            }

            ReadOnlySequence<byte> buffer = result.Buffer;
            if (TryParse(buffer, out HttpRequestHead? head, out HttpParseError error, out SequencePosition consumed))
            {
                input.AdvanceTo(consumed);
                return (head, HttpParseError.None, false);
            }

            input.AdvanceTo(buffer.Start, buffer.End);
            if (error != HttpParseError.None)
            {
                return (null, error, false);
            }

            if (result.IsCanceled || result.IsCompleted)
            {
                return (null, HttpParseError.None, !result.IsCanceled);
            }
        }
    }

    private bool TryParse(in ReadOnlySequence<byte> buffer, out HttpRequestHead? head, out HttpParseError error, out SequencePosition consumed)
    {
        var reader = new SequenceReader<byte>(buffer);
        bool ok = HttpRequestHeadParser.TryReadRequestHead(ref reader, _options.MaxRequestLineSize, _options.MaxRequestHeadSize, _options.MaxHeaderCount, out head, out error);
        consumed = reader.Position;
        return ok;
    }

    private HttpResponse Route(HttpRequestHead head)
    {
        if (head.Method is not ("GET" or "HEAD"))
        {
            return HttpResponse.Text(404, "not found");
        }

        switch (head.Path)
        {
            case "/healthz":
                return _application.IsDraining ? HttpResponse.Text(503, "draining") : HttpResponse.Text(200, "ok");
            case "/metrics":
                var w = new PrometheusWriter();
                _transportMetrics.WritePrometheus(w);
                _messagingMetrics.WritePrometheus(w);
                return new HttpResponse(200, "text/plain; version=0.0.4; charset=utf-8", Encoding.UTF8.GetBytes(w.ToString()));
        }

        return _settings.StaticContent.TryGetValue(head.Path, out HttpResponse? content) ? content : HttpResponse.Text(404, "not found");
    }

    /// <summary>
    /// Sends <paramref name="response"/>, the connection's last; then reads and discards the body that
    /// <paramref name="request"/> declares, as far as <see cref="DiscardBodyAsync"/> goes, so that the close
    /// that follows finds no request bytes unread. Writing and discarding together get the handshake's time limit.
    /// </summary>
    private async ValueTask RespondAsync(ConnectionContext connection, HttpResponse response, bool headOnly, HttpRequestHead? request = null)
    {
        using var deadline = new CancellationTokenSource(_options.HandshakeTimeout);
        // A client that never reads its answer must not hold the connection for ever: the write gets the handshake's
        // time limit, and then the connection is dropped.
        // Aborting (not cancelling the flush) also ends a send that ConnMsg's own transport has under way.
        using (deadline.Token.UnsafeRegister(
            static c => ((ConnectionContext)c!).Abort(new ConnectionAbortedException("the client did not read the response in time")), connection))
        {
            try
            {
                HttpResponseWriter.WriteResponse(connection.Transport.Output, response, headOnly);
                await connection.Transport.Output.FlushAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is ConnectionResetException or ConnectionAbortedException or IOException or InvalidOperationException)
            {
                return; // The client left before its answer.
            }
        }

        // Answered first, as Kestrel does: a client that waits for its answer before it sends the rest is not held up.
        if (request is not null)
        {
            await DiscardBodyAsync(connection.Transport.Input, request, deadline.Token).ConfigureAwait(false);
        }
    }

    private static string Describe(HttpParseError error) => error switch
    {
        HttpParseError.RequestLineTooLong => "request line too long",
        HttpParseError.HeadTooLarge => "request head too large",
        HttpParseError.TooManyHeaders => "too many headers",
        HttpParseError.MalformedRequestLine => "malformed request line",
        HttpParseError.MalformedHeader => "malformed header",
        HttpParseError.UnsupportedVersion => "HTTP/1.1 required",
        _ => "bad request",
    };
}
