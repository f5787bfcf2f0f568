using ConnMsg.Client.Internal;

namespace ConnMsg.Client;

public sealed partial class ConnMsgClient
{
    /// <summary>Re-subscribes every topic on a new connection before it is published, asking history topics for what was missed.</summary>
    private async Task ResubscribeAllAsync(Connection connection, CancellationToken cancellationToken)
    {
        var pending = new List<Task>();
        foreach (var state in _topics.Values)
        {
            pending.Add(ResubscribeAsync(connection, state, cancellationToken));
        }

        await Task.WhenAll(pending).ConfigureAwait(false);
    }

    private async Task ResubscribeAsync(Connection connection, TopicState state, CancellationToken cancellationToken)
    {
        await state.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (state.Removed || state.Subscribers.Length == 0)
            {
                return;
            }

            long? since = state.HasHistory ? state.LastSeq : null;
            SubscribeResult result;
            try
            {
                result = await SubscribeOnAsync(connection, state, since, cancellationToken, out _).ConfigureAwait(false);
            }
            catch (ConnMsgRejectedException e)
            {
                state.SubscribedOn = null;
                RaiseRecoveryFailed(new ConnMsgRecoveryFailedEventArgs(state.Topic, since ?? 0, null, e));
                return;
            }

            state.SubscribedOn = connection;
            ConnMsgClientLog.Resubscribed(_logger, state.Topic, since, result.Recovered);
            if (since is { } from && result.Recovered == false)
            {
                RaiseRecoveryFailed(new ConnMsgRecoveryFailedEventArgs(state.Topic, from, result.Seq, null));
            }
        }
        finally
        {
            state.Gate.Release();
        }
    }
}
