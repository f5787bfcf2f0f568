namespace ConnMsg.Client.Internal;

/// <summary>The <c>type</c> member of an envelope (PROTOCOL §1).</summary>
internal enum MessageKind
{
    None,
    Req,
    Cfm,
    Rej,
    Ind,
}
