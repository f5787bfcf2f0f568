using System.Text.Json.Serialization;

namespace ConnMsg.Tests.Messaging;

/// <summary>Arguments of the typed test op <c>math.add</c>.</summary>
public sealed record AddArgs(int A, int B);

/// <summary>Result of <c>math.add</c>.</summary>
public sealed record AddResult(int Sum, string? Note = null);

/// <summary>Source-generated JSON metadata for the typed handlers of these tests (no reflection).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip)]
[JsonSerializable(typeof(AddArgs))]
[JsonSerializable(typeof(AddResult))]
[JsonSerializable(typeof(double))]
public sealed partial class MessagingTestJsonContext : JsonSerializerContext;
