using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using ConnMsg.Bench.Infrastructure;
using ConnMsg.Messaging;
using ConnMsg.WebSockets;

namespace ConnMsg.Bench.Benchmarks;

/// <summary>
/// One <c>echo</c> whose handler goes asynchronous, so the request goes through the in-flight table: the read loop
/// dispatches it and the handler returns a pending task; later, on another call, the handler answers and completes,
/// ConnMsg finishes the request (table, metrics, recycling) and the thread pool drains the Cfm into the transport pipe.
/// The handler allocates nothing of its own (<see cref="Handler"/>). Target: 0 B per request in steady state.
/// </summary>
[MemoryDiagnoser]
public class AsyncHandlerBenchmarks
{
    private readonly HandlerGate _gate = new();
    private InMemoryServer _server = null!;
    private InMemoryConnection _connection = null!;
    private byte[] _clientFrame = [];
    private long _responseLength;

    /// <summary>
    /// <c>task-source</c>: the handler returns the gate's task itself, so only ConnMsg can allocate.
    /// <c>pooling-async-method</c>: an <c>async</c> handler built with <see cref="PoolingAsyncValueTaskMethodBuilder"/>
    /// awaits the gate, as an application would write it.
    /// </summary>
    [Params("task-source", "pooling-async-method")]
    public string Handler { get; set; } = "task-source";

    [GlobalSetup]
    public void Setup()
    {
        _server = new InMemoryServer(settings => settings.Handlers["echo"] = Handler switch
        {
            "task-source" => _gate.Hold,
            "pooling-async-method" => EchoWhenReleasedAsync,
            _ => throw new ArgumentException($"unknown handler {Handler}"),
        });
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

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask EchoWhenReleasedAsync(ConnMsgRequest request)
    {
        await _gate.WaitAsync();
        request.Confirm(request.Data.Span);
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
        ClientFrames.Send(_connection.Client.Output, _clientFrame);

        // The read loop ran the handler on this thread and left the request in flight; finish it here.
        _gate.Release();
        PipeDrain.DrainAtLeast(_connection.Client.Input, _responseLength);
        return _responseLength;
    }
}
