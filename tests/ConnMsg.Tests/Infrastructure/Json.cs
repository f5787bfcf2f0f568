using System.Text.Json;

namespace ConnMsg.Tests.Infrastructure;

/// <summary>Small helpers to read server messages in assertions.</summary>
public static class Json
{
    public static JsonElement Parse(string text) => JsonDocument.Parse(text).RootElement.Clone();

    public static string Type(this JsonElement e) => e.GetProperty("type").GetString()!;

    public static string? Str(this JsonElement e, string name) => e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>The raw JSON text of a member, e.g. the id token exactly as sent.</summary>
    public static string Raw(this JsonElement e, string name) => e.GetProperty(name).GetRawText();
}
