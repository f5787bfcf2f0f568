using System.Text.Json.Serialization;

namespace ConnMsg.Bench.Baselines;

/// <summary>A Rej as an object graph.</summary>
public sealed class RejPoco
{
    [JsonPropertyName("type")] public string Type { get; set; } = "rej";
    [JsonPropertyName("id")] public long Id { get; set; }
    [JsonPropertyName("code")] public string Code { get; set; } = "";
    [JsonPropertyName("reason")] public string? Reason { get; set; }
}
