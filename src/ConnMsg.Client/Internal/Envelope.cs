namespace ConnMsg.Client.Internal;

/// <summary>One parsed inbound envelope; spans point into the receive buffer and die with it.</summary>
internal ref struct Envelope
{
    public MessageKind Kind;

    /// <summary>The whole <c>id</c> token as sent (quotes included for a string), to echo verbatim; empty when absent.</summary>
    public ReadOnlySpan<byte> RawId;

    /// <summary>The id when it is an integer, the only kind this client generates.</summary>
    public long? IntegerId;

    /// <summary>The raw JSON of <c>data</c>; empty when absent.</summary>
    public ReadOnlySpan<byte> Data;

    public string? Op;

    /// <summary>Characters of the topic written into the caller's topic buffer.</summary>
    public int TopicLength;

    public bool HasTopic;

    public long? Seq;

    public string? Code;

    public string? Reason;
}
