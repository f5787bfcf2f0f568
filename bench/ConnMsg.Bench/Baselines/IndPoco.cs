using System.Text.Json;
using System.Text.Json.Serialization;

namespace ConnMsg.Bench.Baselines;

/// <summary>An Ind as an object graph.</summary>
public sealed class IndPoco
{
    [JsonPropertyName("type")] public string Type { get; set; } = "ind";
    [JsonPropertyName("topic")] public string Topic { get; set; } = "";
    [JsonPropertyName("seq")] public long Seq { get; set; }
    [JsonPropertyName("data")] public JsonElement Data { get; set; }
}
