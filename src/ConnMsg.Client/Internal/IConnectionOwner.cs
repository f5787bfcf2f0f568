using Microsoft.Extensions.Logging;

namespace ConnMsg.Client.Internal;

/// <summary>What a <see cref="Connection"/> reports to the client that owns it.</summary>
internal interface IConnectionOwner
{
    ILogger Logger { get; }

    /// <summary>Called on the receive loop for every complete text message; must not block.</summary>
    void OnMessage(Connection connection, ReadOnlySpan<byte> message);

    /// <summary>Called synchronously, once, the moment the connection is known to be dead, before pending requests fail.</summary>
    void OnConnectionClosing(Connection connection);
}
