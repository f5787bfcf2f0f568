namespace ConnMsg.Client;

/// <summary>Base type of the exceptions the ConnMsg client raises for protocol-level outcomes.</summary>
public class ConnMsgException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ConnMsgException(string message) : base(message) { }

    /// <summary>Creates the exception with an inner cause.</summary>
    public ConnMsgException(string message, Exception? innerException) : base(message, innerException) { }
}
