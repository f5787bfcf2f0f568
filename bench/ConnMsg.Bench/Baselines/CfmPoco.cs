using System.Text.Json;
using System.Text.Json.Serialization;

namespace ConnMsg.Bench.Baselines;

/// <summary>A Cfm as an object graph, serialised with <c>JsonSerializer.SerializeToUtf8Bytes</c>.</summary>
public sealed class CfmPoco
{
    [JsonPropertyName("type")] public string Type { get; set; } = "cfm";
    [JsonPropertyName("id")] public long Id { get; set; }
    [JsonPropertyName("data")] public JsonElement Data { get; set; }
}
