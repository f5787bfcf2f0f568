using System.Text.Json.Serialization;

namespace ConnMsg.Gateway.Demo;

/// <summary>Arguments of <c>sleep</c>.</summary>
public sealed record SleepArgs(int? Ms);

/// <summary>Result of <c>sleep</c>.</summary>
public sealed record SleepResult(int Slept);

/// <summary>Result of <c>time</c>.</summary>
public sealed record TimeResult(string Utc);

/// <summary>Arguments of <c>fail</c>.</summary>
public sealed record FailArgs(string? Code, string? Reason);

/// <summary>Result of <c>publish</c>.</summary>
public sealed record PublishResult(int Subscribers);

/// <summary>Result of <c>whoami</c>.</summary>
public sealed record WhoAmIResult(string Id, IReadOnlyList<string> Subscriptions);

/// <summary>Source-generated JSON metadata of the demo ops (no reflection at run time).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(System.Text.Json.JsonElement))]
[JsonSerializable(typeof(SleepArgs))]
[JsonSerializable(typeof(SleepResult))]
[JsonSerializable(typeof(TimeResult))]
[JsonSerializable(typeof(FailArgs))]
[JsonSerializable(typeof(PublishResult))]
[JsonSerializable(typeof(WhoAmIResult))]
internal sealed partial class DemoJsonContext : JsonSerializerContext;
