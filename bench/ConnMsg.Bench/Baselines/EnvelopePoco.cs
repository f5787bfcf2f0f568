using System.Text.Json;
using System.Text.Json.Serialization;

namespace ConnMsg.Bench.Baselines;

/// <summary>The envelope as a POCO: what <c>JsonSerializer.Deserialize</c> would produce.</summary>
public sealed class EnvelopePoco
{
    [JsonPropertyName("type")] public string? Type { get; set; }
    [JsonPropertyName("id")] public JsonElement Id { get; set; }
    [JsonPropertyName("op")] public string? Op { get; set; }
    [JsonPropertyName("data")] public JsonElement Data { get; set; }
    [JsonPropertyName("code")] public string? Code { get; set; }
    [JsonPropertyName("reason")] public string? Reason { get; set; }
    [JsonPropertyName("topic")] public string? Topic { get; set; }
    [JsonPropertyName("seq")] public long? Seq { get; set; }
}
