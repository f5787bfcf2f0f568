namespace ConnMsg.Messaging;

/// <summary>
/// One parsed message, as ranges into the payload it was read from (no copies, no strings).
/// A range with a negative start is absent.
/// </summary>
internal struct Envelope
{
    public MessageKind Kind;
    public Range Id;     // raw JSON token, quotes included for strings
    public Range Op;     // raw token, quotes included
    public Range Data;   // raw JSON value
    public Range Code;
    public Range Reason;
    public Range Topic;
    public long Seq;

    public readonly bool HasId => Id.Start.Value != 0 || Id.End.Value != 0;

}
