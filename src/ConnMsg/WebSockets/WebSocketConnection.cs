using ConnMsg.Diagnostics;
using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;

using ConnMsg.Http;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace ConnMsg.WebSockets;

/// <summary>
/// One upgraded RFC 6455 connection: a read loop that parses, validates and reassembles client frames, and an
/// outbound queue that many threads feed without locks and one drainer at a time writes to the transport.
/// </summary>
/// <remarks>
/// Thread-safety: <see cref="Enqueue"/>, <see cref="Close"/> and <see cref="Abort"/> may be called from any thread.
/// Everything else runs on the read loop.
/// </remarks>
internal sealed partial class WebSocketConnection
{
    private readonly ConnectionContext _context;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly ConnMsgOptions _options;
    private readonly TransportMetrics _metrics;
    private readonly ILogger _logger;
    private IWebSocketSession? _session;

    private long _lastReceiveMs;
    private long _batchTimestamp;
    private long _lastPingMs;
    private long _closeDeadlineMs = long.MaxValue;

    internal WebSocketConnection(ConnectionContext context, HttpRequestHead request, string? subProtocol,
        ConnMsgOptions options, TransportMetrics metrics, ILogger logger)
    {
        _context = context;
        _input = context.Transport.Input;
        _output = context.Transport.Output;
        _options = options;
        _metrics = metrics;
        _logger = logger;
        Request = request;
        SubProtocol = subProtocol;
        _lastReceiveMs = Environment.TickCount64;
        _lastPingMs = _lastReceiveMs;
    }

    /// <summary>Kestrel's connection id, unique within the process.</summary>
    public string Id => _context.ConnectionId;

    /// <summary>The handshake request.</summary>
    public HttpRequestHead Request { get; }

    /// <summary>The subprotocol selected in the handshake, or null.</summary>
    public string? SubProtocol { get; }

    /// <summary>Remote endpoint, for logs.</summary>
    public string? RemoteEndPoint => _context.RemoteEndPoint?.ToString();

    /// <summary>
    /// Whether the calling code runs inside a read batch, that is, on the read loop's thread between a read and the
    /// writing of its answers. Meaningful only on that thread: anywhere else the answer may be stale.
    /// </summary>
    internal bool InReadBatch => _inReadBatch != 0;

    /// <summary>Whether the read loop is inside a batch now, read from any thread (a shutdown drain waits for it).</summary>
    internal bool IsReadBatchOpen => Volatile.Read(ref _inReadBatch) != 0;

    /// <summary>When the current read batch came in (<see cref="Stopwatch.GetTimestamp"/>); valid while <see cref="InReadBatch"/>.</summary>
    internal long BatchTimestamp => _batchTimestamp;

    /// <summary>When the current read batch came in (<see cref="Environment.TickCount64"/>); valid while <see cref="InReadBatch"/>.</summary>
    internal long BatchTickMs => _lastReceiveMs;

    /// <summary>Bytes queued and not yet handed to the transport's output: what the fan-out flow control compares with its threshold.</summary>
    internal long QueuedBytes => _queue.QueuedBytes;

    /// <summary>Options in force.</summary>
    public ConnMsgOptions Options => _options;

    /// <summary>Runs the connection until it closes. The 101 response must already be written to the output.</summary>
    public Task RunAsync(IWebSocketApplication application) => RunAsync(Task.FromResult<WebSocketConnection?>(this), application);

    /// <summary>
    /// Awaits <paramref name="upgrade"/>, the opening handshake, and runs the connection it yields until it closes. A
    /// handshake that yields null (refused, or the client left) has nothing to run.
    /// </summary>
    /// <remarks>
    /// The handshake is awaited here rather than by the connection handler, and the read loop lives in this frame rather
    /// than in a method of its own: a frame suspended for the connection's whole life is memory every held connection
    /// pays for, so there is one, not three. Only what must outlive a read is kept in it; the opening, the batch and the
    /// ending have methods of their own. The handshake comes as a <see cref="Task{TResult}"/>, whose awaiter is half the
    /// size of a <see cref="ValueTask{TResult}"/>'s, and costs nothing more: an async method that suspends is its own task.
    /// </remarks>
    internal static async Task RunAsync(Task<WebSocketConnection?> upgrade, IWebSocketApplication application)
    {
        WebSocketConnection? ws = await upgrade.ConfigureAwait(false);
        // A parameter lives in the frame as long as the frame: cleared, it no longer holds the handshake's finished box.
        upgrade = null!;
        if (ws is null)
        {
            return;
        }

        ws._metrics.ConnectionOpened();
        try
        {
            await ws.OpenAsync(application).ConfigureAwait(false);
            while (true)
            {
                ReadResult result = await ws._input.ReadAsync().ConfigureAwait(false);
                bool stop = ws.ProcessReadBatch(result, out bool backlogged);
                await ws.DrainInlineAsync().ConfigureAwait(false);
                if (backlogged)
                {
                    // Behind every drain already queued on the pool (no allocation: the frame's box exists by now).
                    ws._metrics.PublisherYield();
                    await Task.Yield();
                }

                if (stop)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is ConnectionResetException or ConnectionAbortedException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The peer or an Abort() ended the connection: nothing left to tell it.
        }
        catch (Exception ex)
        {
            TransportLog.ConnectionFault(ws._logger, ws.Id, ex);
            ws.Fail(CloseCode.InternalError);
        }
        finally
        {
            await ws.EndAsync().ConfigureAwait(false);
            ws._metrics.ConnectionClosed();
        }
    }

    /// <summary>Opens the application's session and sends what it queued on opening (the 101 is in the output already).</summary>
    private async ValueTask OpenAsync(IWebSocketApplication application)
    {
        _session = await application.OpenAsync(this).ConfigureAwait(false);
        await DrainInlineAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Parses, validates and dispatches what one read returned, and gives the pipe back what was not consumed. Returns
    /// whether the connection is to end; <paramref name="backlogged"/> says whether drains deferred during the batch were
    /// handed to the thread pool behind others, so that the read loop should yield to them.
    /// </summary>
    private bool ProcessReadBatch(in ReadResult result, out bool backlogged)
    {
        ReadOnlySequence<byte> buffer = result.Buffer;
        SequencePosition consumed = buffer.Start;
        bool stop;
        DeferredDrains deferred = DeferredDrains.Enter();
        try
        {
            if (!buffer.IsEmpty)
            {
                Volatile.Write(ref _lastReceiveMs, Environment.TickCount64);
                _batchTimestamp = Stopwatch.GetTimestamp();
            }

            _inReadBatch = 1;
            stop = ProcessFrames(buffer, out consumed) || _closeReceived;
            _session!.OnReadBatchEnd();
            if (!stop && result.IsCompleted)
            {
                // The peer closed TCP without a close frame (1006), possibly mid-frame: nothing to answer.
                _metrics.AbnormalClosure();
                stop = true;
            }

            stop |= result.IsCanceled;
        }
        finally
        {
            // The batch is closed first: a batch left open would hold back every drain deferred on this pool thread
            // from then on, whatever connection it belonged to.
            Interlocked.Exchange(ref _inReadBatch, 0);
            backlogged = deferred.Exit();
            _input.AdvanceTo(consumed, buffer.End);
        }

        return stop;
    }

    /// <summary>Closes the output, tells the session, and gives back the connection's buffers and pipes.</summary>
    private async ValueTask EndAsync()
    {
        await ShutdownOutputAsync().ConfigureAwait(false);
        if (_session is not null)
        {
            try
            {
                await _session.OnClosedAsync().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                TransportLog.ConnectionFault(_logger, Id, ex);
            }
        }

        ReleaseAssembly();
        await _input.CompleteAsync().ConfigureAwait(false);
        await _output.CompleteAsync().ConfigureAwait(false);
    }

    /// <summary>Keep-alive, close and message deadlines, and session housekeeping; called about once a second by the server's ticker.</summary>
    public void OnTick(long nowMs)
    {
        if (nowMs >= Volatile.Read(ref _closeDeadlineMs))
        {
            // The peer did not complete the close handshake (or stopped reading) in time.
            Abort();
            return;
        }

        if (nowMs >= Volatile.Read(ref _messageDeadlineMs) && !_closeSent)
        {
            // A frame or fragmented message still incomplete (IncompleteMessageTimeout): whatever keeps arriving, the
            // buffer it holds is released now rather than when the client chooses to finish.
            Close(CloseCode.PolicyViolation, "message timeout"u8);
            _input.CancelPendingRead();
            return;
        }

        long lastReceive = Volatile.Read(ref _lastReceiveMs);
        long idle = nowMs - lastReceive;
        long interval = (long)_options.KeepAliveInterval.TotalMilliseconds;
        // Silence closes only once a ping has asked for an answer and had time to get one: a ticker that ran late (a
        // cold start, a starved pool) must not close a connection it never pinged.
        bool pingUnanswered = _lastPingMs > lastReceive && nowMs - _lastPingMs >= interval / 2;
        if (idle >= 2 * interval && pingUnanswered)
        {
            Close(CloseCode.GoingAway, "keep-alive expired"u8);
        }
        else if (idle >= interval && nowMs - _lastPingMs >= interval)
        {
            _lastPingMs = nowMs;
            Enqueue(OutboundFrame.Control(WebSocketOpcode.Ping, default));
        }

        _session?.OnTick(nowMs);
    }

    /// <summary>Ends the connection at once, without a close handshake.</summary>
    public void Abort()
    {
        _context.Abort(new ConnectionAbortedException("ConnMsg aborted the connection."));
    }
}
