using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using ConnMsg.Transport;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace ConnMsg.Tests.SocketTransport;

/// <summary>
/// ConnMsg's socket transport on its own: a real listening socket on loopback, a real client socket, and the
/// <see cref="PipeReader"/>/<see cref="PipeWriter"/> contract Kestrel and ConnMsg rely on.
/// </summary>
public sealed partial class SocketTransportTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private SocketListener _listener = null!;
    private Socket _client = null!;
    private SocketConnection _connection = null!;

    private PipeReader Input => ((IDuplexPipe)_connection).Input;

    private PipeWriter Output => ((IDuplexPipe)_connection).Output;

    public async Task InitializeAsync() => await ConnectAsync(new ConnMsgTransportOptions());

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _connection.DisposeAsync();
        await _listener.DisposeAsync();
    }

    [Fact]
    public void ListeningOnPortZeroReportsThePortTheSystemChose()
    {
        int port = ((IPEndPoint)_listener.EndPoint).Port;
        Assert.NotEqual(0, port);
        Assert.Equal(port, ((IPEndPoint)_client.RemoteEndPoint!).Port);
    }

    [Fact]
    public void BindingAPortInUseThrowsAddressInUseSoKestrelCanTellTheCaseApart()
    {
        Assert.Throws<AddressInUseException>(() => SocketListener.Bind((IPEndPoint)_listener.EndPoint, new ConnMsgTransportOptions()));
    }

    [Fact]
    public async Task BytesSentByThePeerAreReadInOrder()
    {
        byte[] sent = Pattern(10_000);
        await _client.SendAsync(sent);
        byte[] read = await ReadExactlyAsync(sent.Length);
        Assert.Equal(sent, read);
    }

    [Fact]
    public async Task AMessageLargerThanTheInitialBufferIsBufferedWholeWhenTheReaderAsksForMore()
    {
        byte[] sent = Pattern(300_000);
        Task sending = SendInPiecesAsync(sent, 7_000);
        // The reader examines everything without consuming, as a frame parser waiting for a whole frame does.
        while (true)
        {
            ReadResult result = await Input.ReadAsync().AsTask().WaitAsync(Patience);
            if (result.Buffer.Length >= sent.Length)
            {
                Assert.Equal(sent, result.Buffer.ToArray());
                Input.AdvanceTo(result.Buffer.End);
                break;
            }

            Input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }

        await sending;
    }

    [Fact]
    public async Task ExaminedButUnconsumedBytesComeBackWithTheNextBytes()
    {
        await _client.SendAsync("abc"u8.ToArray());
        ReadResult first = await Input.ReadAsync().AsTask().WaitAsync(Patience);
        Assert.Equal("abc"u8.ToArray(), first.Buffer.ToArray());
        Input.AdvanceTo(first.Buffer.Start, first.Buffer.End);

        ValueTask<ReadResult> next = Input.ReadAsync();
        Assert.False(next.IsCompleted, "everything was examined, so the next read must wait for new bytes");
        await _client.SendAsync("def"u8.ToArray());
        ReadResult second = await next.AsTask().WaitAsync(Patience);
        Assert.Equal("abcdef"u8.ToArray(), second.Buffer.ToArray());
        Input.AdvanceTo(second.Buffer.End);
    }

    [Fact]
    public async Task PartlyConsumedBytesAreReturnedAtOnceWhenNotAllWereExamined()
    {
        await _client.SendAsync("hello"u8.ToArray());
        ReadResult first = await Input.ReadAsync().AsTask().WaitAsync(Patience);
        Assert.Equal(5, first.Buffer.Length);
        Input.AdvanceTo(first.Buffer.GetPosition(2), first.Buffer.GetPosition(3));

        ValueTask<ReadResult> next = Input.ReadAsync();
        Assert.True(next.IsCompleted, "unexamined bytes remain, so the read must not wait");
        ReadResult second = await next;
        Assert.Equal("llo"u8.ToArray(), second.Buffer.ToArray());
        Input.AdvanceTo(second.Buffer.End);
    }

    [Fact]
    public async Task AConnectionWithNothingUnconsumedHoldsNoBuffer()
    {
        await _client.SendAsync(Pattern(5_000));
        byte[] read = await ReadExactlyAsync(5_000);
        Assert.Equal(5_000, read.Length);
        Output.Write(Pattern(9_000));
        await Output.FlushAsync();

        ValueTask<ReadResult> waiting = Input.ReadAsync();
        Assert.False(waiting.IsCompleted);
        Assert.False(_connection.Input.HoldsBuffer, "a read waiting for data must not hold a receive buffer");
        Assert.False(_connection.Output.HoldsBuffer, "a flushed writer must not hold a send buffer");

        await _client.SendAsync(new byte[] { 1 });
        ReadResult result = await waiting.AsTask().WaitAsync(Patience);
        Input.AdvanceTo(result.Buffer.End);
    }

    [Fact]
    public async Task MoreUnconsumedBytesThanTheLimitFailTheReadInsteadOfGrowingOrHanging()
    {
        await ReconnectAsync(new ConnMsgTransportOptions { MaxReadBufferSize = 16 * 1024 });
        Task sending = SendInPiecesAsync(Pattern(64 * 1024), 4096);
        var failed = await Assert.ThrowsAsync<IOException>(async () =>
        {
            while (true)
            {
                ReadResult result = await Input.ReadAsync().AsTask().WaitAsync(Patience);
                Assert.True(result.Buffer.Length <= 16 * 1024);
                Input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            }
        });
        Assert.Contains("16384", failed.Message);
        _client.Dispose();
        try
        {
            await sending;
        }
        catch (SocketException)
        {
            // The kernel may have taken every byte before the failure, or not.
        }
    }

    [Fact]
    public async Task CancelPendingReadEndsAWaitingReadAndLosesNothingSentAfterIt()
    {
        ValueTask<ReadResult> waiting = Input.ReadAsync();
        Assert.False(waiting.IsCompleted);
        Input.CancelPendingRead();
        ReadResult canceled = await waiting.AsTask().WaitAsync(Patience);
        Assert.True(canceled.IsCanceled);
        Assert.False(canceled.IsCompleted);
        Input.AdvanceTo(canceled.Buffer.Start, canceled.Buffer.End);

        await _client.SendAsync("after"u8.ToArray());
        byte[] read = await ReadExactlyAsync(5);
        Assert.Equal("after"u8.ToArray(), read);
    }

    [Fact]
    public async Task CancelPendingReadBeforeAReadMakesThatReadReturnCanceled()
    {
        Input.CancelPendingRead();
        ReadResult result = await Input.ReadAsync().AsTask().WaitAsync(Patience);
        Assert.True(result.IsCanceled);
        Input.AdvanceTo(result.Buffer.End);

        ValueTask<ReadResult> next = Input.ReadAsync();
        Assert.False(next.IsCompleted, "the cancellation applies to one read only");
        await _client.SendAsync("x"u8.ToArray());
        ReadResult data = await next.AsTask().WaitAsync(Patience);
        Assert.Equal("x"u8.ToArray(), data.Buffer.ToArray());
        Input.AdvanceTo(data.Buffer.End);
    }

    [Fact]
    public async Task CancelPendingReadRacingArrivingBytesNeverLosesOrRepeatsOne()
    {
        // A timer thread cancels while the I/O thread completes the same read: whichever wins, every byte arrives once.
        const int rounds = 2000;
        var received = new List<byte>(rounds);
        for (int i = 0; i < rounds; i++)
        {
            ValueTask<ReadResult> reading = Input.ReadAsync();
            Task sending = _client.SendAsync(new[] { (byte)i }.AsMemory()).AsTask();
            Task canceling = Task.Run(Input.CancelPendingRead);
            ReadResult result = await reading.AsTask().WaitAsync(Patience);
            received.AddRange(result.Buffer.ToArray());
            Input.AdvanceTo(result.Buffer.End);
            await Task.WhenAll(sending, canceling);
        }

        while (received.Count < rounds)
        {
            ReadResult result = await Input.ReadAsync().AsTask().WaitAsync(Patience);
            received.AddRange(result.Buffer.ToArray());
            Input.AdvanceTo(result.Buffer.End);
        }

        Assert.Equal(Enumerable.Range(0, rounds).Select(i => (byte)i), received);
    }

    [Fact]
    public async Task ACanceledTokenEndsAWaitingReadWithOperationCanceled()
    {
        using var cts = new CancellationTokenSource();
        ValueTask<ReadResult> waiting = Input.ReadAsync(cts.Token);
        Assert.False(waiting.IsCompleted);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.AsTask().WaitAsync(Patience));

        await _client.SendAsync("y"u8.ToArray());
        Assert.Equal("y"u8.ToArray(), await ReadExactlyAsync(1));
    }

    [Fact]
    public async Task ACallbackOnConnectionClosedThatThrowsIsLoggedNotLeftToCrashTheProcess()
    {
        // An application's callback fails (a classic: cancelling a disposed source). Unhandled on a pool thread, that
        // would end the process, and any client could trigger it by connecting and leaving.
        var logger = new FirstErrorLogger();
        await DisposeAsync();
        await ConnectAsync(new ConnMsgTransportOptions(), logger);
        var bug = new InvalidOperationException("an application bug");
        _connection.ConnectionClosed.Register(() => throw bug);

        _connection.Abort(new ConnectionAbortedException("closing"));

        Exception logged = await logger.FirstError.WaitAsync(Patience);
        Assert.Same(bug, Assert.IsType<AggregateException>(logged).InnerException);
    }

    [Fact]
    public async Task AResetWhileAReadWaitsFailsTheReadAndFiresConnectionClosedBeforeDisposal()
    {
        var fired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _connection.ConnectionClosed.Register(() => fired.SetResult());
        ValueTask<ReadResult> read = Input.ReadAsync(); // an idle connection: the read waits for the socket

        _client.LingerState = new LingerOption(true, 0);
        _client.Close(); // RST

        await Assert.ThrowsAsync<ConnectionResetException>(async () => await read.AsTask().WaitAsync(Patience));
        await fired.Task.WaitAsync(Patience);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ThePeerLeavingWhileNobodyReadsFiresConnectionClosed(bool reset)
    {
        // Kestrel's contract for the token, kept also between reads: the handshake hook gets it while no read is out.
        var fired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _connection.ConnectionClosed.Register(() => fired.SetResult());

        if (reset)
        {
            _client.LingerState = new LingerOption(true, 0);
            _client.Close();
        }
        else
        {
            _client.Shutdown(SocketShutdown.Send);
        }

        await fired.Task.WaitAsync(Patience);

        // The watch took nothing from the reader: the next read still reports the end, or the reset, as it was.
        if (reset)
        {
            await Assert.ThrowsAsync<ConnectionResetException>(async () => await Input.ReadAsync().AsTask().WaitAsync(Patience));
        }
        else
        {
            ReadResult end = await Input.ReadAsync().AsTask().WaitAsync(Patience);
            Assert.True(end.IsCompleted && end.Buffer.IsEmpty);
        }
    }

    [Fact]
    public async Task BytesThatArriveWhileNobodyReadsAreLeftForTheReaderByTheClosedTokensWatch()
    {
        CancellationToken closed = _connection.ConnectionClosed;
        await _client.SendAsync("first"u8.ToArray());
        _client.Shutdown(SocketShutdown.Send);

        var received = new List<byte>();
        while (true)
        {
            ReadResult result = await Input.ReadAsync().AsTask().WaitAsync(Patience);
            received.AddRange(result.Buffer.ToArray());
            Input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }

        Assert.Equal("first"u8.ToArray(), received.ToArray());
        Assert.True(closed.IsCancellationRequested || await Task.Run(() => closed.WaitHandle.WaitOne(Patience)));
    }

    [Fact]
    public async Task ThePeersFinCompletesTheReadAfterItsLastBytesAndFiresConnectionClosed()
    {
        CancellationToken closed = _connection.ConnectionClosed;
        var fired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        closed.Register(() => fired.SetResult());

        await _client.SendAsync("last"u8.ToArray());
        _client.Shutdown(SocketShutdown.Send);

        var received = new List<byte>();
        while (true)
        {
            ReadResult result = await Input.ReadAsync().AsTask().WaitAsync(Patience);
            received.AddRange(result.Buffer.ToArray());
            Input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }

        Assert.Equal("last"u8.ToArray(), received.ToArray());
        await fired.Task.WaitAsync(Patience);
    }

    [Fact]
    public async Task AbortFailsAWaitingReadWithTheAbortReasonAndThePeerSeesTheEnd()
    {
        // The waiting read can wake up while the abort closes the socket and find the end of the stream: that end is the
        // abort's, not the peer's. Many rounds, so that the window is hit.
        for (int round = 0; round < 300; round++)
        {
            if (round > 0)
            {
                await ReconnectAsync(new ConnMsgTransportOptions());
            }

            ValueTask<ReadResult> waiting = Input.ReadAsync();
            var reason = new ConnectionAbortedException("test abort");
            _connection.Abort(reason);
            var thrown = await Assert.ThrowsAsync<ConnectionAbortedException>(() => waiting.AsTask().WaitAsync(Patience));
            Assert.Same(reason, thrown);

            var buffer = new byte[16];
            int read = await ReceiveOrResetAsync(buffer);
            Assert.Equal(0, read);
        }
    }

    [Fact]
    public async Task WritesReachThePeerOnlyWhenFlushedAndInOrder()
    {
        Output.Write("one,"u8);
        Output.Write("two"u8);
        Assert.Equal(7, Output.UnflushedBytes);
        FlushResult flushed = await Output.FlushAsync();
        Assert.False(flushed.IsCompleted);
        Assert.Equal("one,two"u8.ToArray(), await ReceiveExactlyAsync(7));
    }

    [Fact]
    public async Task AFlushWaitsWhileThePeerDoesNotReadAndCompletesWithEverythingDeliveredWhenItDoes()
    {
        _client.ReceiveBufferSize = 64 * 1024;
        _connection.Features.Get<IConnectionSocketFeature>()!.Socket.SendBufferSize = 64 * 1024;
        byte[] sent = Pattern(2 * 1024 * 1024);
        sent.CopyTo(Output.GetSpan(sent.Length));
        Output.Advance(sent.Length);
        ValueTask<FlushResult> flushing = Output.FlushAsync();
        Assert.False(flushing.IsCompleted, "2 MiB cannot fit in the kernel's buffers while the peer reads nothing");
        Assert.Throws<InvalidOperationException>(() => Output.GetSpan(1));

        byte[] received = await ReceiveExactlyAsync(sent.Length);
        FlushResult result = await flushing.AsTask().WaitAsync(Patience);
        Assert.False(result.IsCompleted);
        Assert.Equal(sent, received);
    }

    [Fact]
    public async Task CompletingTheOutputSendsFinAfterEverythingWritten()
    {
        Output.Write("bye"u8);
        await Output.FlushAsync();
        Output.Complete();
        Assert.Equal("bye"u8.ToArray(), await ReceiveExactlyAsync(3));
        Assert.Equal(0, await _client.ReceiveAsync(new byte[8]).WaitAsync(Patience));
    }

    [Fact]
    public async Task AFlushAfterThePeerResetReportsTheOutputCompletedRatherThanThrowing()
    {
        _client.LingerState = new LingerOption(true, 0);
        _client.Close();
        // The reset arrives asynchronously: the read side reports it first.
        await Assert.ThrowsAsync<ConnectionResetException>(async () =>
        {
            while (true)
            {
                ReadResult r = await Input.ReadAsync().AsTask().WaitAsync(Patience);
                Input.AdvanceTo(r.Buffer.End);
                if (r.IsCompleted)
                {
                    throw new ConnectionResetException("completed without reset");
                }
            }
        });

        FlushResult result;
        do
        {
            Output.Write(Pattern(1024));
            result = await Output.FlushAsync().AsTask().WaitAsync(Patience);
        }
        while (!result.IsCompleted);

        Assert.True(result.IsCompleted);
    }

    [Fact]
    public void KestrelsFeaturesAreStoredAndTheConnectionsOwnAreAnswered()
    {
        IFeatureCollection features = _connection.Features;
        Assert.Same(_connection, features.Get<IConnectionIdFeature>());
        Assert.Same(_connection, features.Get<IConnectionTransportFeature>());
        Assert.NotNull(features.Get<IConnectionSocketFeature>()!.Socket);
        Assert.Null(features.Get<IConnectionHeartbeatFeature>());

        var heartbeat = new Heartbeat();
        int revision = features.Revision;
        features.Set<IConnectionHeartbeatFeature>(heartbeat);
        Assert.Same(heartbeat, features.Get<IConnectionHeartbeatFeature>());
        Assert.True(features.Revision > revision);
        Assert.Contains(features, f => f.Key == typeof(IConnectionHeartbeatFeature));

        features.Set<IConnectionHeartbeatFeature>(null);
        Assert.Null(features.Get<IConnectionHeartbeatFeature>());
    }

    [Fact]
    public void FeaturesSetBeyondKestrelsFourAreAllKeptAndEachCanBeRemoved()
    {
        IFeatureCollection features = _connection.Features;
        object[] values = [new Marker<byte>(), new Marker<short>(), new Marker<int>(), new Marker<long>(), new Marker<float>(), new Marker<double>()];
        foreach (object value in values)
        {
            features[value.GetType()] = value;
        }

        Assert.All(values, v => Assert.Same(v, features[v.GetType()]));
        Assert.Equal(values.Length, features.Count(f => f.Value is IMarker));

        features[typeof(Marker<byte>)] = null;
        Assert.Null(features[typeof(Marker<byte>)]);
        Assert.All(values[1..], v => Assert.Same(v, features[v.GetType()]));
    }

    private interface IMarker;

    private sealed class Marker<T> : IMarker;

    [Fact]
    public void ConnectionIdsAreUniquePerConnection()
    {
        Assert.StartsWith("cm-", _connection.ConnectionId);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var other = new SocketConnection(socket, 4096);
        Assert.NotEqual(_connection.ConnectionId, other.ConnectionId);
    }

    private async Task ConnectAsync(ConnMsgTransportOptions options, ILogger? logger = null)
    {
        _listener = SocketListener.Bind(new IPEndPoint(IPAddress.Loopback, 0), options, logger);
        _client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Task connecting = _client.ConnectAsync(_listener.EndPoint);
        _connection = (SocketConnection)(await _listener.AcceptAsync().AsTask().WaitAsync(Patience))!;
        await connecting;
    }

    private async Task ReconnectAsync(ConnMsgTransportOptions options)
    {
        await DisposeAsync();
        await ConnectAsync(options);
    }

    private async Task<byte[]> ReadExactlyAsync(int count)
    {
        var received = new List<byte>(count);
        while (received.Count < count)
        {
            ReadResult result = await Input.ReadAsync().AsTask().WaitAsync(Patience);
            Assert.False(result.IsCompleted && result.Buffer.IsEmpty, "the connection ended early");
            received.AddRange(result.Buffer.ToArray());
            Input.AdvanceTo(result.Buffer.End);
        }

        return received.ToArray();
    }

    private async Task<byte[]> ReceiveExactlyAsync(int count)
    {
        var buffer = new byte[count];
        int total = 0;
        while (total < count)
        {
            int n = await _client.ReceiveAsync(buffer.AsMemory(total)).AsTask().WaitAsync(Patience);
            Assert.NotEqual(0, n);
            total += n;
        }

        return buffer;
    }

    private async Task<int> ReceiveOrResetAsync(byte[] buffer)
    {
        try
        {
            return await _client.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(Patience);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return 0;
        }
    }

    private async Task SendInPiecesAsync(byte[] data, int piece)
    {
        for (int offset = 0; offset < data.Length; offset += piece)
        {
            await _client.SendAsync(data.AsMemory(offset, Math.Min(piece, data.Length - offset)));
        }
    }

    private static byte[] Pattern(int length)
    {
        var data = new byte[length];
        for (int i = 0; i < length; i++)
        {
            data[i] = (byte)(i * 31 + (i >> 8));
        }

        return data;
    }

    private sealed class Heartbeat : IConnectionHeartbeatFeature
    {
        public void OnHeartbeat(Action<object> action, object state)
        {
        }
    }

    private sealed class FirstErrorLogger : ILogger
    {
        private readonly TaskCompletionSource<Exception> _first = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<Exception> FirstError => _first.Task;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= LogLevel.Error && exception is not null)
            {
                _first.TrySetResult(exception);
            }
        }
    }
}
