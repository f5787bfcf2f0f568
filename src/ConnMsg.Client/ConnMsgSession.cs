namespace ConnMsg.Client;

/// <summary>The contents of the server's <c>$session</c> Ind (PROTOCOL §5.1): the connection's identity and limits.</summary>
/// <param name="Id">The server's connection id.</param>
/// <param name="KeepAlive">
/// The server's keep-alive interval: <c>keepAlive</c> in seconds, fractions included, read as 0 … <see cref="int.MaxValue"/>
/// seconds. Informational; the client keeps its own <see cref="ConnMsgClientOptions.KeepAliveInterval"/>.
/// </param>
/// <param name="MaxMessage">The largest message in bytes the server accepts.</param>
/// <param name="MaxInFlight">How many requests may be in flight at once before the server answers <c>overloaded</c>.</param>
public sealed record ConnMsgSession(string? Id, TimeSpan KeepAlive, int MaxMessage, int MaxInFlight);
