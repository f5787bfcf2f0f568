using System.Text.Json;

namespace ConnMsg.Client.Internal;

/// <summary>
/// A <c>$subscribe</c> whose confirmation updates the topic's last seq on the receive loop itself, so it is
/// ordered exactly against the Inds that arrive around it.
/// </summary>
internal sealed class SubscribePendingRequest(long id, TopicState state, bool withSince) : PendingRequest<SubscribeResult>(id, ContinuationMode.ThreadPool)
{
    private readonly TaskCompletionSource<bool> _settled = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// True once a <c>cfm</c> arrived (the server made the subscription live), false for a <c>rej</c> or a lost
    /// connection; completes even after the caller gave up waiting.
    /// </summary>
    public Task<bool> Settled => _settled.Task;

    public override void OnSettled(bool confirmed) => _settled.TrySetResult(confirmed);

    protected override SubscribeResult Read(ReadOnlySpan<byte> data)
    {
        bool? recovered = null;
        long? seq = null;
        var reader = new Utf8JsonReader(data);
        if (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("recovered"u8))
                {
                    reader.Read();
                    recovered = reader.TokenType switch
                    {
                        JsonTokenType.True => true,
                        JsonTokenType.False => false,
                        _ => null,
                    };
                }
                else if (reader.ValueTextEquals("seq"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out long s))
                    {
                        seq = s;
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }

        if (seq is { } current)
        {
            if (recovered == false)
            {
                state.ResetTo(current);
            }
            else if (!withSince)
            {
                state.RaiseTo(current);
            }
        }

        return new SubscribeResult(recovered, seq);
    }
}
