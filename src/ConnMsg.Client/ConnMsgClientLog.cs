using Microsoft.Extensions.Logging;

namespace ConnMsg.Client;

/// <summary>The client's log messages, with fixed event ids so operators can alert on them.</summary>
internal static partial class ConnMsgClientLog
{
    [LoggerMessage(1, LogLevel.Information, "Connected to {Uri} (generation {Generation}, session {SessionId}).")]
    public static partial void Connected(ILogger logger, Uri uri, int generation, string? sessionId);

    [LoggerMessage(2, LogLevel.Warning, "Connection lost (generation {Generation}).")]
    public static partial void ConnectionLost(ILogger logger, int generation, Exception? error);

    [LoggerMessage(3, LogLevel.Information, "Reconnect attempt {Attempt} in {Delay}.")]
    public static partial void ReconnectScheduled(ILogger logger, int attempt, TimeSpan delay);

    [LoggerMessage(4, LogLevel.Warning, "Reconnect attempt {Attempt} failed.")]
    public static partial void ReconnectFailed(ILogger logger, int attempt, Exception error);

    [LoggerMessage(5, LogLevel.Error, "Giving up reconnecting after {Attempts} attempts.")]
    public static partial void ReconnectGaveUp(ILogger logger, int attempts);

    [LoggerMessage(6, LogLevel.Debug, "Discarded an answer to request {Id}, which is no longer awaited (cancelled, timed out or unknown).")]
    public static partial void AnswerDiscarded(ILogger logger, long id);

    [LoggerMessage(7, LogLevel.Debug, "Dropped duplicate Ind on {Topic} with seq {Seq} (last delivered {LastSeq}).")]
    public static partial void DuplicateIndDropped(ILogger logger, string topic, long seq, long lastSeq);

    [LoggerMessage(8, LogLevel.Warning, "Gap on {Topic}: expected seq {Expected}, got {Seq}.")]
    public static partial void SeqGap(ILogger logger, string topic, long expected, long seq);

    // Only for a history that no longer reaches back: a failed re-subscription has events of its own (22, 23).
    [LoggerMessage(9, LogLevel.Warning, "Recovery of {Topic} failed: history no longer reaches back to seq {Since} (current {Current}).")]
    public static partial void RecoveryFailed(ILogger logger, string topic, long since, long? current);

    [LoggerMessage(10, LogLevel.Warning, "Received a malformed message: {Error}.")]
    public static partial void BadMessage(ILogger logger, string error);

    [LoggerMessage(11, LogLevel.Error, "A subscription handler for {Topic} failed.")]
    public static partial void SubscriptionHandlerFailed(ILogger logger, string topic, Exception error);

    [LoggerMessage(12, LogLevel.Error, "The handler of server request {Op} failed.")]
    public static partial void RequestHandlerFailed(ILogger logger, string op, Exception error);

    [LoggerMessage(13, LogLevel.Error, "Dispatching a received message failed.")]
    public static partial void DispatchFailed(ILogger logger, Exception error);

    [LoggerMessage(14, LogLevel.Error, "An application callback failed.")]
    public static partial void CallbackFailed(ILogger logger, Exception error);

    [LoggerMessage(15, LogLevel.Debug, "Ind on {Topic}, which has no subscriber, dropped.")]
    public static partial void IndWithoutSubscriber(ILogger logger, string topic);

    [LoggerMessage(16, LogLevel.Information, "Resubscribed {Topic} (since {Since}, recovered {Recovered}).")]
    public static partial void Resubscribed(ILogger logger, string topic, long? since, bool? recovered);

    [LoggerMessage(17, LogLevel.Error, "The handler of server request {Op} rejected it with code '{Code}', which is not snake_case (PROTOCOL §3); answered internal instead.")]
    public static partial void RejectCodeNotSnakeCase(ILogger logger, string op, string code, Exception error);

    [LoggerMessage(18, LogLevel.Debug, "A subscribe to {Topic} whose caller gave up has settled (live: {Live}); sent $unsubscribe: {Unsubscribed}.")]
    public static partial void AbandonedSubscribeSettled(ILogger logger, string topic, bool live, bool unsubscribed);

    [LoggerMessage(19, LogLevel.Information, "Re-subscription of {Topic} was refused overloaded; sending it again in {Delay} (retry {Retry}).")]
    public static partial void ResubscribeRetryScheduled(ILogger logger, string topic, int retry, TimeSpan delay);

    [LoggerMessage(20, LogLevel.Information, "Re-subscription of {Topic} was refused shutting_down; the next connection subscribes it again.")]
    public static partial void ResubscribeLeftToNextConnection(ILogger logger, string topic);

    [LoggerMessage(21, LogLevel.Warning, "Re-subscription of {Topic} was still refused overloaded after {Retries} retries; giving up on the topic.")]
    public static partial void ResubscribeGaveUp(ILogger logger, string topic, int retries);

    [LoggerMessage(22, LogLevel.Warning, "Re-subscription of {Topic} was refused {Code}; the topic receives nothing until it is subscribed again.")]
    public static partial void ResubscribeRefused(ILogger logger, string topic, string code, Exception error);

    [LoggerMessage(23, LogLevel.Warning, "Re-subscription of {Topic} failed: {Reason} The topic receives nothing until it is subscribed again.")]
    public static partial void ResubscribeFailed(ILogger logger, string topic, string reason, Exception error);
}
