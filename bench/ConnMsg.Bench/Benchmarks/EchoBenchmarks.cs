using System.Buffers;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using ConnMsg.Bench.Infrastructure;
using ConnMsg.Messaging;
using ConnMsg.WebSockets;

namespace ConnMsg.Bench.Benchmarks;

/// <summary>
/// One <c>echo</c> request end to end through a real <see cref="ConnMsgConnection"/>: envelope parse, handler lookup,
/// in-flight check, the handler's Confirm, Cfm encode into a pooled frame, enqueue, and the drain into the transport pipe
/// (which the benchmark reads off, as a socket would). Target: 0 B per echo in steady state.
/// </summary>
/// <remarks>
/// Two ways in. <see cref="OnTextMessage"/> hands the message to the session as the brief has it; outside the read loop
/// the transport schedules its drain on the thread pool, so that figure includes a thread hop and the wait for it.
/// <see cref="ReadLoop"/> writes the masked client frame into the connection and lets the real read loop (frame header,
/// unmask, UTF-8 check, dispatch, inline drain) do everything on the writing thread, as Kestrel runs it.
/// </remarks>
[MemoryDiagnoser]
public class EchoBenchmarks
{
    private InMemoryServer _server = null!;
    private InMemoryConnection _session = null!;
    private InMemoryConnection _loop = null!;
    private IWebSocketSession _sessionView = null!;
    private ReadOnlySequence<byte> _request;
    private byte[] _clientFrame = [];
    private long _responseLength;

    [GlobalSetup]
    public void Setup()
    {
        _server = new InMemoryServer();
        _request = new ReadOnlySequence<byte>(Payloads.EchoRequest);
        _clientFrame = ClientFrames.MaskedText(Payloads.EchoRequest);
        OutboundFrame expected = MessageWriter.Cfm("42"u8, Payloads.SmallData);
        _responseLength = expected.Length;
        expected.Release();

        _session = _server.OpenSession("echo-session");
        _sessionView = _session.Session!;
        PipeDrain.DrainAtLeast(_session.Client.Input, 1); // the $session Ind
        OnTextMessage();

        _loop = _server.Run("echo-loop");
        // $session is queued before the read loop starts, so the thread pool drains it; let that drainer finish.
        PipeDrain.DrainAtLeast(_loop.Client.Input, 1);
        Thread.Sleep(100);

        if (ReadLoop() != _responseLength)
        {
            throw new InvalidOperationException("the read loop did not answer synchronously on the writing thread");
        }

        if (JsonDocumentEcho() != _responseLength - 2)
        {
            throw new InvalidOperationException("the baseline's answer differs in length from ours");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _session.Close();
        _loop.Close();
        _server.Dispose();
    }

    [Benchmark(Baseline = true, Description = "JsonDocument.Parse + Utf8JsonWriter(new ArrayBufferWriter)")]
    public int JsonDocumentEcho()
    {
        using JsonDocument doc = JsonDocument.Parse(Payloads.EchoRequest);
        JsonElement root = doc.RootElement;
        if (!root.GetProperty("type").ValueEquals("req"u8) || !root.GetProperty("op").ValueEquals("echo"u8))
        {
            return -1;
        }

        var output = new ArrayBufferWriter<byte>();
        using var writer = new Utf8JsonWriter(output);
        writer.WriteStartObject();
        writer.WriteString("type"u8, "cfm"u8);
        writer.WritePropertyName("id"u8);
        root.GetProperty("id").WriteTo(writer);
        writer.WritePropertyName("data"u8);
        root.GetProperty("data").WriteTo(writer);
        writer.WriteEndObject();
        writer.Flush();
        return output.WrittenCount;
    }

    [Benchmark(Description = "OnTextMessage + thread-pool drain")]
    public long OnTextMessage()
    {
        _sessionView.OnTextMessage(in _request);
        PipeDrain.DrainAtLeast(_session.Client.Input, _responseLength);
        return _responseLength;
    }

    [Benchmark(Description = "client frame -> read loop -> inline drain")]
    public long ReadLoop()
    {
        ClientFrames.Send(_loop.Client.Output, _clientFrame);

        return PipeDrain.TryDrain(_loop.Client.Input);
    }
}
