using System.Buffers;
using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using ConnMsg.Bench.Infrastructure;
using ConnMsg.Messaging;
using ConnMsg.WebSockets;

namespace ConnMsg.Bench.Benchmarks;

/// <summary>
/// One <c>echo</c> whose handler goes asynchronous, so the request goes through the in-flight table: the read loop
/// dispatches it and the handler returns a pending task; later, on another call, the handler answers and completes,
/// ConnMsg finishes the request (table, metrics, recycling) and the thread pool drains the Cfm into the transport pipe.
/// The handler itself allocates nothing (<see cref="HandlerGate"/>). Target: 0 B per request in steady state.
/// </summary>
[MemoryDiagnoser]
public class AsyncHandlerBenchmarks
{
    private readonly HandlerGate _gate = new();
    private InMemoryServer _server = null!;
    private InMemoryConnection _connection = null!;
    private byte[] _clientFrame = [];
    private long _responseLength;

    [GlobalSetup]
    public void Setup()
    {
        _server = new InMemoryServer(settings => settings.Handlers["echo"] = _gate.Hold);
        _clientFrame = ClientFrames.MaskedText(Payloads.EchoRequest);
        OutboundFrame expected = MessageWriter.Cfm("42"u8, Payloads.SmallData);
        _responseLength = expected.Length;
        expected.Release();

        _connection = _server.Run("async-echo");
        PipeDrain.DrainAtLeast(_connection.Client.Input, 1); // the $session Ind
        if (DispatchThenComplete() != _responseLength)
        {
            throw new InvalidOperationException("the asynchronous echo did not answer");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _connection.Close();
        _server.Dispose();
    }

    [Benchmark(Description = "client frame -> read loop -> pending handler; handler completes -> thread-pool drain")]
    public long DispatchThenComplete()
    {
        PipeWriter client = _connection.Client.Output;
        client.Write(_clientFrame);
        ValueTask<FlushResult> flush = client.FlushAsync();
        if (!flush.IsCompletedSuccessfully)
        {
            flush.AsTask().GetAwaiter().GetResult();
        }

        // The read loop ran the handler on this thread and left the request in flight; finish it here.
        _gate.Release();
        PipeDrain.DrainAtLeast(_connection.Client.Input, _responseLength);
        return _responseLength;
    }
}
