namespace ConnMsg.Messaging;

/// <summary>
/// Thrown by a handler to answer its request with a <c>rej</c>; also thrown by
/// <see cref="ConnMsgConnection.RequestAsync(string, ReadOnlyMemory{byte}, CancellationToken)"/> when the peer rejects.
/// </summary>
public sealed class ConnMsgRejectException : Exception
{
    /// <summary>Creates a rejection with a <c>snake_case</c> code and an optional human-readable reason.</summary>
    public ConnMsgRejectException(string code, string? reason = null)
        : base(reason is null ? code : $"{code}: {reason}")
    {
        if (!Names.IsSnakeCase(code))
        {
            throw new ArgumentException("A reject code must be snake_case (a-z, 0-9, _), starting with a letter.", nameof(code));
        }

        Code = code;
        Reason = reason;
    }

    /// <summary>The reject code, e.g. <see cref="RejectCodes.InvalidArgument"/>.</summary>
    public string Code { get; }

    /// <summary>The reason sent to the peer, or null.</summary>
    public string? Reason { get; }
}
