using System.Text.Json;
using System.Text.Json.Serialization;

namespace ConnMsg.Client.Tests.Infrastructure;

public sealed record Order(string Sku, int Qty);

public sealed record SleepRequest(int Ms);

public sealed record SleepResult(int Slept);

public sealed record PublishRequest(string Topic, JsonElement Data);

public sealed record PublishResult(int Subscribers);

public sealed record Counter(int N);

public sealed record WhoAmI(string Id, string[] Subscriptions);

public sealed record TimeResult(DateTimeOffset Utc);

public sealed record AddRequest(int A, int B);

public sealed record AddResult(int Sum);

/// <summary>Source-generated type infos, as an AOT application would use them.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(Order))]
[JsonSerializable(typeof(SleepRequest))]
[JsonSerializable(typeof(SleepResult))]
[JsonSerializable(typeof(PublishRequest))]
[JsonSerializable(typeof(PublishResult))]
[JsonSerializable(typeof(Counter))]
[JsonSerializable(typeof(WhoAmI))]
[JsonSerializable(typeof(TimeResult))]
[JsonSerializable(typeof(AddRequest))]
[JsonSerializable(typeof(AddResult))]
[JsonSerializable(typeof(JsonElement))]
internal sealed partial class TestJsonContext : JsonSerializerContext;
