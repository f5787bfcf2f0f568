namespace ConnMsg.Client.Internal;

/// <summary>The data of a <c>$subscribe</c> cfm (PROTOCOL §5.3).</summary>
internal readonly record struct SubscribeResult(bool? Recovered, long? Seq);
