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
    public async Task RunAsync(IWebSocketApplication application)
    {
        try
        {
            _session = await application.OpenAsync(this).ConfigureAwait(false);
            await DrainInlineAsync().ConfigureAwait(false);

            // The read loop lives in this frame rather than its own method: a frame suspended for the connection's
            // whole life is memory every held connection pays for, so there is one, not two.
            while (true)
            {
                ReadResult result = await _input.ReadAsync().ConfigureAwait(false);
                ReadOnlySequence<byte> buffer = result.Buffer;
                SequencePosition consumed = buffer.Start;
                SequencePosition examined = buffer.End;
                bool stop;
                bool backlogged;
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
                    // The batch is closed first: a batch left open would hold back every drain deferred on this
                    // pool thread from then on, whatever connection it belonged to.
                    Interlocked.Exchange(ref _inReadBatch, 0);
                    backlogged = deferred.Exit();
                    _input.AdvanceTo(consumed, examined);
                }

                await DrainInlineAsync().ConfigureAwait(false);
                if (backlogged)
                {
                    // Behind every drain already queued on the pool (no allocation: the frame's box exists by now).
                    _metrics.PublisherYield();
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
            TransportLog.ConnectionFault(_logger, Id, ex);
            Fail(CloseCode.InternalError);
        }
        finally
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
