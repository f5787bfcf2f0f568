namespace ConnMsg.Messaging;

/// <summary>The four message kinds of PROTOCOL.md §1.</summary>
internal enum MessageKind : byte
{
    None,
    Req,
    Cfm,
    Rej,
    Ind,
}
