namespace ConnMsg.Transport;

/// <summary>
/// Options of ConnMsg's socket transport for Kestrel (<see cref="Hosting.ConnMsgTransportExtensions.UseConnMsgTransport"/>).
/// Bound from the configuration section <c>ConnMsg:Transport</c>.
/// </summary>
public sealed class ConnMsgTransportOptions
{
    /// <summary>Length of the listen socket's queue of connections not yet accepted. Default 512.</summary>
    public int Backlog { get; set; } = 512;

    /// <summary>
    /// Most bytes buffered for one connection that the application has not consumed; beyond it the connection fails with
    /// an <see cref="IOException"/>. Raised automatically to hold ConnMsg's largest message. Default 1 MiB.
    /// </summary>
    public int MaxReadBufferSize { get; set; } = 1024 * 1024;

    /// <summary>Whether Nagle's algorithm is off on accepted sockets. Default true: frames leave when flushed.</summary>
    public bool NoDelay { get; set; } = true;

    internal void Validate()
    {
        if (Backlog < 1) throw new InvalidOperationException("ConnMsgTransportOptions.Backlog must be positive.");
        if (MaxReadBufferSize < 4096) throw new InvalidOperationException("ConnMsgTransportOptions.MaxReadBufferSize must be at least 4 KiB.");
    }
}
