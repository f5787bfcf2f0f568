namespace ConnMsg.Client;

/// <summary>
/// The connection dropped while the request was in flight (or the client stopped reconnecting).
/// The request may or may not have been executed by the server: retry only idempotent operations.
/// </summary>
public sealed class ConnMsgConnectionLostException : ConnMsgException
{
    /// <summary>Creates the exception.</summary>
    public ConnMsgConnectionLostException(string message, Exception? innerException = null) : base(message, innerException) { }
}
