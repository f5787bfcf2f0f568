using System.Text.Json.Serialization;

namespace ConnMsg.Bench.Baselines;

/// <summary>Source-generated metadata, so the serializer baselines run their fastest, reflection-free path.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(EnvelopePoco))]
[JsonSerializable(typeof(CfmPoco))]
[JsonSerializable(typeof(RejPoco))]
[JsonSerializable(typeof(IndPoco))]
[JsonSerializable(typeof(PriceTick))]
internal sealed partial class BenchJsonContext : JsonSerializerContext;
