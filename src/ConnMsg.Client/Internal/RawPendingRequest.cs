namespace ConnMsg.Client.Internal;

/// <summary>Hands the answer's raw JSON to the caller; the copy is needed because the receive buffer is reused.</summary>
internal sealed class RawPendingRequest(long id, ContinuationMode mode) : PendingRequest<ReadOnlyMemory<byte>>(id, mode)
{
    protected override ReadOnlyMemory<byte> Read(ReadOnlySpan<byte> data) => data.ToArray();
}
