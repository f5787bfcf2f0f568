using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using ConnMsg.Transport;

namespace ConnMsg.Bench.Benchmarks;

/// <summary>
/// ConnMsg's socket transport over a real loopback socket pair: the peer sends a 64-byte message, the transport's
/// reader takes it, its writer sends 64 bytes back, the peer receives them. Every step completes synchronously (the
/// bytes are already in the kernel), which is the steady state of a busy connection; the zero-byte wait of an idle
/// one completes on the I/O thread and is not on this thread's allocation count.
/// </summary>
[MemoryDiagnoser]
public class TransportBenchmarks
{
    private readonly byte[] _message = new byte[64];
    private readonly byte[] _received = new byte[64];
    private SocketListener _listener = null!;
    private Socket _peer = null!;
    private SocketConnection _connection = null!;
    private PipeReader _input = null!;
    private PipeWriter _output = null!;

    [GlobalSetup]
    public void Setup()
    {
        _listener = SocketListener.Bind(new IPEndPoint(IPAddress.Loopback, 0), new ConnMsgTransportOptions());
        _peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Task connecting = _peer.ConnectAsync(_listener.EndPoint);
        _connection = (SocketConnection)_listener.AcceptAsync().AsTask().GetAwaiter().GetResult()!;
        connecting.GetAwaiter().GetResult();
        _input = ((IDuplexPipe)_connection).Input;
        _output = ((IDuplexPipe)_connection).Output;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _peer.Dispose();
        _connection.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _listener.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    /// <summary>Peer send → transport read → transport write and flush → peer receive.</summary>
    [Benchmark]
    public int RoundTrip()
    {
        _peer.Send(_message);
        int read = 0;
        while (read < _message.Length)
        {
            ValueTask<ReadResult> reading = _input.ReadAsync();
            if (!reading.IsCompletedSuccessfully)
            {
                // Loopback delivered the bytes before Send returned; waiting here would hang the benchmark thread.
                throw new InvalidOperationException("the read went asynchronous");
            }

            ReadResult result = reading.Result;
            read += (int)result.Buffer.Length;
            _input.AdvanceTo(result.Buffer.End);
        }

        _output.Write(_message);
        ValueTask<FlushResult> flushing = _output.FlushAsync();
        if (!flushing.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException("the flush went asynchronous");
        }

        int received = 0;
        while (received < _received.Length)
        {
            received += _peer.Receive(_received, received, _received.Length - received, SocketFlags.None);
        }

        return received;
    }
}
