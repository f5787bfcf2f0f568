namespace ConnMsg.Messaging;

/// <summary>The standard reject codes of PROTOCOL.md §4.</summary>
public static class RejectCodes
{
    /// <summary>The message is not valid JSON, not an object, or breaks the envelope rules.</summary>
    public const string BadMessage = "bad_message";
    /// <summary>No handler for the op.</summary>
    public const string UnknownOp = "unknown_op";
    /// <summary>The data is not what the operation accepts.</summary>
    public const string InvalidArgument = "invalid_argument";
    /// <summary>Another request with this id is still in flight.</summary>
    public const string DuplicateId = "duplicate_id";
    /// <summary>Who the caller is, is unknown.</summary>
    public const string Unauthenticated = "unauthenticated";
    /// <summary>The caller is not allowed this.</summary>
    public const string Forbidden = "forbidden";
    /// <summary>The thing the request names does not exist.</summary>
    public const string NotFound = "not_found";
    /// <summary>Too many requests in flight, or the server sheds load.</summary>
    public const string Overloaded = "overloaded";
    /// <summary>The handler did not finish within the request timeout.</summary>
    public const string Timeout = "timeout";
    /// <summary>The server is draining.</summary>
    public const string ShuttingDown = "shutting_down";
    /// <summary>The handler failed.</summary>
    public const string Internal = "internal";
}
