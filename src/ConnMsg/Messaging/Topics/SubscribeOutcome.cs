namespace ConnMsg.Messaging.Topics;

/// <summary>How <see cref="Topic.TrySubscribe"/> ended, and what its caller has left to do with the topic.</summary>
internal enum SubscribeOutcome
{
    /// <summary>The connection is a subscriber (confirmed, and replayed to when it asked).</summary>
    Subscribed,

    /// <summary>The topic had been retired before: the caller takes out the stale entry and subscribes to a fresh topic.</summary>
    TopicRetired,

    /// <summary>The connection had closed: it was not listed, and the topic is as it was.</summary>
    ConnectionClosed,

    /// <summary>
    /// The connection had closed, and the topic, with no other subscriber and no history, was retired as its last
    /// subscriber's leaving retires it: the caller takes it out.
    /// </summary>
    ConnectionClosedTopicRetired,
}
