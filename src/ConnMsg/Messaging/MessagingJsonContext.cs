using System.Text.Json.Serialization;

namespace ConnMsg.Messaging;

/// <summary>Source-generated JSON metadata for the few values the messaging layer reads as objects.</summary>
[JsonSerializable(typeof(string))]
internal sealed partial class MessagingJsonContext : JsonSerializerContext;
