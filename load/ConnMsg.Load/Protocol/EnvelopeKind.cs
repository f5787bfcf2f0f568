namespace ConnMsg.Load.Protocol;

/// <summary>The <c>type</c> member of a ConnMsg envelope.</summary>
public enum EnvelopeKind
{
    /// <summary>Missing or not understood.</summary>
    Unknown,

    /// <summary><c>req</c>.</summary>
    Req,

    /// <summary><c>cfm</c>.</summary>
    Cfm,

    /// <summary><c>rej</c>.</summary>
    Rej,

    /// <summary><c>ind</c>.</summary>
    Ind,
}
