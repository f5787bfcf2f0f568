namespace ConnMsg.Messaging;

/// <summary>
/// One parsed message, as ranges into the payload it was read from (no copies, no strings).
/// A range with a negative start is absent.
/// </summary>
internal struct Envelope
{
    public MessageKind Kind;
    public Range Id;     // raw JSON token, quotes included for strings
    public Range Op;     // the name's bytes without quotes; with OpEscaped set, the whole JSON string token
    public Range Data;   // raw JSON value
    public Range Code;
    public Range Reason;
    public Range Topic;
    public long Seq;
    public bool OpEscaped;    // written with JSON escapes: Op is a token to unescape (rare)
    public bool TopicEscaped; // likewise for Topic

    public readonly bool HasId => Id.Start.Value != 0 || Id.End.Value != 0;

}
