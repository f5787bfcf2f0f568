using System.Buffers;
using System.Diagnostics.Metrics;
using System.IO.Pipelines;
using System.Runtime.InteropServices;
using ConnMsg.Diagnostics;
using ConnMsg.Http;
using ConnMsg.WebSockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging.Abstractions;

namespace ConnMsg.Tests.Transport;

/// <summary>
/// A <see cref="WebSocketConnection"/> over an in-memory duplex pipe pair, no sockets: the test feeds client bytes
/// through a <see cref="SegmentedPipeReader"/> and reads the server's frames from a real <see cref="Pipe"/>.
/// </summary>
internal sealed class PipeHarness : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);
    private readonly Pipe _toClient = new(new PipeOptions(pauseWriterThreshold: 0, resumeWriterThreshold: 0, useSynchronizationContext: false));
    private readonly Meter _meter = new("ConnMsg.Tests.PipeHarness");
    private ReadOnlySequence<byte> _unread = ReadOnlySequence<byte>.Empty;
    private bool _outputDone;

    public PipeHarness(ConnMsgOptions? options = null)
    {
        Options = options ?? new ConnMsgOptions();
        var context = new DefaultConnectionContext("pipe-" + Guid.NewGuid().ToString("N")[..8], new Duplex(Input, _toClient.Writer), new Duplex(_toClient.Reader, new Pipe().Writer));
        var head = new HttpRequestHead("GET", "/ws", string.Empty, "HTTP/1.1", []);
        Connection = new WebSocketConnection(context, head, "connmsg.v1", Options, new TransportMetrics(_meter), NullLogger.Instance);
        Run = Task.Run(() => Connection.RunAsync(Session));
    }

    public ConnMsgOptions Options { get; }

    public SegmentedPipeReader Input { get; } = new();

    internal WebSocketConnection Connection { get; }

    public RecordingSession Session { get; } = new();

    public Task Run { get; }

    public Task FeedAsync(byte[] bytes, Feed feed) => Input.FeedAsync(bytes, feed);

    /// <summary>The next frame the server wrote, or null when its output completed first.</summary>
    public async Task<ServerFrame?> ReadFrameAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? Timeout);
        while (true)
        {
            if (ServerFrame.TryParse(ref _unread, out ServerFrame? frame))
            {
                return frame;
            }

            if (_outputDone)
            {
                return null;
            }

            ReadResult result = await _toClient.Reader.ReadAsync(cts.Token);
            // Copy out so the pipe can be advanced at once; frames are then parsed from the copy.
            byte[] joined = [.. _unread.ToArray(), .. result.Buffer.ToArray()];
            _toClient.Reader.AdvanceTo(result.Buffer.End);
            _unread = new ReadOnlySequence<byte>(joined);
            _outputDone = result.IsCompleted;
        }
    }

    /// <summary>Reads frames until the server's close frame; returns it (or null if the output ended without one).</summary>
    public async Task<ServerFrame?> ReadCloseAsync(TimeSpan? timeout = null)
    {
        while (await ReadFrameAsync(timeout) is { } frame)
        {
            if (frame.IsClose)
            {
                return frame;
            }
        }

        return null;
    }

    /// <summary>True once the server has completed its output (it closed the connection).</summary>
    public async Task<bool> OutputEndsAsync(TimeSpan? timeout = null)
    {
        try
        {
            while (await ReadFrameAsync(timeout) is not null)
            {
            }

            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Input.CompleteWriter();
        try
        {
            await Run.WaitAsync(Timeout);
        }
        finally
        {
            _meter.Dispose();
        }
    }

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }
}

/// <summary>Records what the transport hands the layer above, copying each message (the bytes are only lent).</summary>
internal sealed class RecordingSession : IWebSocketApplication, IWebSocketSession
{
    private readonly object _gate = new();
    private readonly List<Received> _messages = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public sealed record Received(byte[] Bytes, bool SingleSegment, byte[]? BackingArray, int BackingOffset);

    public TaskCompletionSource Closed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int ClosedCalls;

    public IReadOnlyList<Received> Messages
    {
        get { lock (_gate) return _messages.ToArray(); }
    }

    ValueTask<IWebSocketSession> IWebSocketApplication.OpenAsync(WebSocketConnection connection) => new(this);

    void IWebSocketSession.OnTextMessage(in ReadOnlySequence<byte> message)
    {
        byte[]? array = null;
        int offset = 0;
        if (message.IsSingleSegment && MemoryMarshal.TryGetArray(message.First, out ArraySegment<byte> segment))
        {
            array = segment.Array;
            offset = segment.Offset;
        }

        TaskCompletionSource changed;
        lock (_gate)
        {
            _messages.Add(new Received(message.ToArray(), message.IsSingleSegment, array, offset));
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    void IWebSocketSession.OnTick(long nowMs)
    {
    }

    ValueTask IWebSocketSession.OnClosedAsync()
    {
        Interlocked.Increment(ref ClosedCalls);
        Closed.TrySetResult();
        return default;
    }

    /// <summary>Waits until at least <paramref name="count"/> messages arrived.</summary>
    public async Task<IReadOnlyList<Received>> WaitForMessagesAsync(int count, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(5));
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (_messages.Count >= count)
                {
                    return _messages.ToArray();
                }

                changed = _changed.Task;
            }

            await changed.WaitAsync(cts.Token);
        }
    }
}
