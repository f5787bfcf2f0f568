namespace ConnMsg.Client;

/// <summary>
/// The peer answered a request with a <c>rej</c>. Also thrown by an <see cref="ConnMsgClient.OnRequest(string, Func{ReadOnlyMemory{byte}, CancellationToken, ValueTask{ReadOnlyMemory{byte}}})"/>
/// handler to answer a server request with a <c>rej</c> carrying <see cref="Code"/> and <see cref="Reason"/>.
/// </summary>
public sealed class ConnMsgRejectedException : ConnMsgException
{
    /// <summary>Creates the exception.</summary>
    /// <remarks>
    /// The code is not checked here: this type also carries whatever code a peer sent. A handler's code that is not
    /// <c>snake_case</c> is answered <c>internal</c> (and logged) instead, since the server would refuse it.
    /// </remarks>
    /// <param name="code">The <c>snake_case</c> reject code (PROTOCOL §4).</param>
    /// <param name="reason">Optional human-readable text.</param>
    public ConnMsgRejectedException(string code, string? reason)
        : base(reason is null ? $"Request rejected: {code}" : $"Request rejected: {code}: {reason}")
    {
        ArgumentException.ThrowIfNullOrEmpty(code);
        Code = code;
        Reason = reason;
    }

    /// <summary>The reject code, e.g. <c>invalid_argument</c> or <c>unknown_op</c>.</summary>
    public string Code { get; }

    /// <summary>The peer's human-readable reason, if it sent one.</summary>
    public string? Reason { get; }
}
