namespace ConnMsg.Client;

/// <summary>
/// The encoded message exceeds the server's <c>maxMessage</c> (from the <c>$session</c> Ind, PROTOCOL §5.1).
/// Raised before anything is sent, because the server would close the whole connection with 1009.
/// </summary>
public sealed class ConnMsgMessageTooLargeException : ConnMsgException
{
    /// <summary>Creates the exception.</summary>
    public ConnMsgMessageTooLargeException(int size, int limit)
        : base($"The message is {size} bytes; the server accepts at most {limit} bytes per message.")
    {
        Size = size;
        Limit = limit;
    }

    /// <summary>The size of the encoded message in bytes.</summary>
    public int Size { get; }

    /// <summary>The server's limit in bytes.</summary>
    public int Limit { get; }
}
