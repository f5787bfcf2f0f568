using System.Runtime.InteropServices;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using ConnMsg.Bench.Baselines;
using ConnMsg.Bench.Infrastructure;
using ConnMsg.Messaging;

namespace ConnMsg.Bench.Benchmarks;

/// <summary>
/// Reading the envelope of a request (type, id, op, data) against the two obvious alternatives. Ours keeps id and data
/// as slices of the payload. Target: 0 B.
/// </summary>
[MemoryDiagnoser]
public class EnvelopeReaderBenchmarks
{
    private byte[] _json = [];

    [Params("small", "large-4KiB", "reordered")]
    public string Message { get; set; } = "small";

    [GlobalSetup]
    public void Setup()
    {
        _json = Message switch
        {
            "small" => Payloads.SmallRequest,
            "large-4KiB" => Payloads.LargeRequest,
            "reordered" => Payloads.ReorderedRequest,
            _ => throw new ArgumentOutOfRangeException(nameof(Message)),
        };
        int ours = EnvelopeReader();
        if (ours <= 0 || ours != JsonDocumentParse() || ours != JsonSerializerDeserialize() || ours != EnvelopeReaderGeneral())
        {
            throw new InvalidOperationException($"the readers disagree on {Message}");
        }
    }

    [Benchmark(Baseline = true, Description = "JsonDocument.Parse")]
    public int JsonDocumentParse()
    {
        using JsonDocument doc = JsonDocument.Parse(_json);
        JsonElement root = doc.RootElement;
        if (root.GetProperty("type").ValueEquals("req"u8) && root.TryGetProperty("id", out _) && root.TryGetProperty("op", out _)
            && root.TryGetProperty("data", out JsonElement data))
        {
            return DataLength(data);
        }

        return -1;
    }

    [Benchmark(Description = "JsonSerializer.Deserialize<EnvelopePoco>")]
    public int JsonSerializerDeserialize()
    {
        EnvelopePoco? e = JsonSerializer.Deserialize(_json, BenchJsonContext.Default.EnvelopePoco);
        return e is { Type: "req", Op: not null } && e.Id.ValueKind != JsonValueKind.Undefined ? DataLength(e.Data) : -1;
    }

    [Benchmark(Description = "EnvelopeReader.TryRead")]
    public int EnvelopeReader()
    {
        if (!Messaging.EnvelopeReader.TryRead(_json, validUtf8: true, out Envelope envelope, out _) || envelope.Kind != MessageKind.Req)
        {
            return -1;
        }

        (_, int length) = envelope.Data.GetOffsetAndLength(_json.Length);
        return length;
    }

    [Benchmark(Description = "EnvelopeReader.TryReadGeneral (no canonical shortcut)")]
    public int EnvelopeReaderGeneral()
    {
        if (!Messaging.EnvelopeReader.TryReadGeneral(_json, out Envelope envelope, out _) || envelope.Kind != MessageKind.Req)
        {
            return -1;
        }

        (_, int length) = envelope.Data.GetOffsetAndLength(_json.Length);
        return length;
    }

    // The baselines report the data's raw length too, without copying it, so all three do the same work: find it.
    private static int DataLength(JsonElement data) => JsonMarshal.GetRawUtf8Value(data).Length;
}
