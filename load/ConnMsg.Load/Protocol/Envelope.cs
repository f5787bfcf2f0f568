namespace ConnMsg.Load.Protocol;

/// <summary>
/// What the driver needs from one received envelope: its kind, its numeric id and, for the driver's own
/// probe payloads (<c>{"p":…,"c":…,"t":…}</c>), the publisher, counter and send timestamp.
/// </summary>
public struct Envelope
{
    /// <summary>The envelope's type.</summary>
    public EnvelopeKind Kind;

    /// <summary>The numeric id, or -1 when it was absent, null or a string.</summary>
    public long Id;

    /// <summary>True when <c>data</c> was an object carrying all of <c>p</c>, <c>c</c> and <c>t</c>.</summary>
    public bool HasProbe;

    /// <summary>The probe's publisher index (<c>p</c>).</summary>
    public long Publisher;

    /// <summary>The probe's per-publisher counter (<c>c</c>).</summary>
    public long Counter;

    /// <summary>The probe's send timestamp (<c>t</c>), a <see cref="System.Diagnostics.Stopwatch"/> timestamp.</summary>
    public long Timestamp;
}
