using System.Collections.Concurrent;

namespace ConnMsg.Client.Internal;

/// <summary>Removes a server-request handler, but only the one it was made for (a newer registration of the same op survives).</summary>
internal sealed class HandlerRegistration(
    ConcurrentDictionary<string, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask<ReadOnlyMemory<byte>>>> handlers,
    string op,
    Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask<ReadOnlyMemory<byte>>> handler) : IDisposable
{
    public void Dispose() => handlers.TryRemove(KeyValuePair.Create(op, handler));
}
