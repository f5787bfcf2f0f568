using System.Collections.Concurrent;
using System.Threading.Channels;
using ConnMsg.Client.Tests.Infrastructure;
using static ConnMsg.Client.Tests.Infrastructure.TestClients;

namespace ConnMsg.Client.Tests;

/// <summary>Connection loss (server-side abort), reconnect, re-subscription and history recovery.</summary>
public sealed class ReconnectTests
{
    [Fact]
    public async Task StateChangesAreObservableThroughConnectDropReconnectAndDispose()
    {
        await using var gateway = await TestGateway.StartAsync();
        var transitions = new ConcurrentQueue<(ConnMsgConnectionState From, ConnMsgConnectionState To)>();
        var reopened = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var client = new ConnMsgClient(gateway.WebSocketUri, Options());
        client.StateChanged += (_, e) =>
        {
            transitions.Enqueue((e.Previous, e.Current));
            if (e.Previous == ConnMsgConnectionState.Reconnecting && e.Current == ConnMsgConnectionState.Open)
            {
                reopened.TrySetResult();
            }
        };

        await client.ConnectAsync().Within();
        gateway.AbortConnections();
        await reopened.Task.Within();
        await client.DisposeAsync();

        Assert.Equal(
            [
                (ConnMsgConnectionState.Connecting, ConnMsgConnectionState.Open),
                (ConnMsgConnectionState.Open, ConnMsgConnectionState.Reconnecting),
                (ConnMsgConnectionState.Reconnecting, ConnMsgConnectionState.Open),
                (ConnMsgConnectionState.Open, ConnMsgConnectionState.Closed),
            ],
            transitions);
    }

    [Fact]
    public async Task GracefulServerShutdownAnswersInFlightRequestsThenClientReconnects()
    {
        await using var gateway = await TestGateway.StartAsync();
        var lost = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var client = await ConnectAsync(gateway);
        client.StateChanged += (_, e) =>
        {
            if (e.Current == ConnMsgConnectionState.Reconnecting)
            {
                lost.TrySetResult(e.Error);
            }
        };
        var sleeping = client.RequestAsync("sleep", new SleepRequest(300), TestJsonContext.Default.SleepRequest, TestJsonContext.Default.SleepResult);
        await client.RequestAsync("echo", Json("0")).Within(); // the sleep is on the server

        var stopping = gateway.App.StopAsync();

        // PROTOCOL §6: in-flight requests finish and are answered before the server closes with 1001.
        Assert.Equal(300, (await sleeping.Within())!.Slept);
        var error = await lost.Task.Within();
        Assert.Contains("1001", error?.Message);
        await stopping.Within();
    }

    [Fact]
    public async Task FirstConnectFailureIsThrownAndLeavesTheClientClosed()
    {
        int port;
        await using (var gateway = await TestGateway.StartAsync())
        {
            port = gateway.WebSocketUri.Port;
        }

        var client = new ConnMsgClient(new Uri($"ws://127.0.0.1:{port}/ws"), Options());
        await using (client)
        {
            await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() => client.ConnectAsync()).Within();
            Assert.Equal(ConnMsgConnectionState.Closed, client.State);
        }
    }

    [Fact]
    public async Task InFlightRequestsFailWithConnectionLostWhenTheServerDrops()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await ConnectAsync(gateway, Options() with { RequestTimeout = TimeSpan.FromSeconds(60) });

        var sleeping = Enumerable.Range(0, 5).Select(_ => client.RequestAsync("sleep", Json("""{"ms":30000}"""))).ToArray();
        await client.RequestAsync("echo", Json("0")).Within(); // the sleeps are on the server now
        gateway.AbortConnections();

        foreach (var request in sleeping)
        {
            var e = await Assert.ThrowsAsync<ConnMsgConnectionLostException>(() => request).Within();
            Assert.Contains("may or may not", e.Message);
        }

        // And the client recovers for new requests.
        Assert.Equal("1", Text(await client.RequestAsync("echo", Json("1")).Within()));
    }

    [Fact]
    public async Task RequestsFromManyThreadsAcrossRepeatedDropsEachSucceedOrFailClearlyAndNoneHangs()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await ConnectAsync(gateway);
        int succeeded = 0, lost = 0, reconnects = 0;
        var reopened = new SemaphoreSlim(0);
        client.StateChanged += (_, e) =>
        {
            if (e.Current == ConnMsgConnectionState.Reconnecting)
            {
                Interlocked.Increment(ref reconnects);
            }
            else if (e.Current == ConnMsgConnectionState.Open)
            {
                reopened.Release();
            }
        };
        var wrong = new ConcurrentBag<string>();
        using var stop = new CancellationTokenSource();
        var progress = new SemaphoreSlim(0);

        var workers = Enumerable.Range(0, 8).Select(t => Task.Run(async () =>
        {
            for (int i = 0; !stop.IsCancellationRequested; i++)
            {
                string sent = $"[{t},{i}]";
                try
                {
                    string got = Text(await client.RequestAsync("echo", Json(sent)));
                    if (got != sent)
                    {
                        wrong.Add($"{sent} -> {got}");
                    }

                    Interlocked.Increment(ref succeeded);
                    progress.Release();
                }
                catch (ConnMsgConnectionLostException)
                {
                    Interlocked.Increment(ref lost);
                }
            }
        })).ToArray();

        for (int drop = 0; drop < 3; drop++)
        {
            // Drop only once the workers are demonstrably making progress on the current connection.
            for (int k = 0; k < 200; k++)
            {
                await progress.WaitAsync().Within();
            }

            gateway.AbortConnections();
            await reopened.WaitAsync().Within();

            // Successes counted before the drop must not pass for progress on the new connection.
            while (progress.Wait(0))
            {
            }
        }

        for (int k = 0; k < 200; k++)
        {
            await progress.WaitAsync().Within();
        }

        stop.Cancel();
        await Task.WhenAll(workers).Within(); // every request ended: none hangs

        Assert.Empty(wrong);
        Assert.True(Volatile.Read(ref succeeded) >= 800);
        Assert.Equal(3, Volatile.Read(ref reconnects)); // progress after each drop proves each reconnect
        Assert.Equal(ConnMsgConnectionState.Open, client.State);
    }

    [Fact]
    public async Task RequestsMadeWhileReconnectingWaitAndSucceed()
    {
        await using var gateway = await TestGateway.StartAsync();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reconnecting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = Options() with
        {
            BeforeReconnectAttempt = async (_, ct) =>
            {
                reconnecting.TrySetResult();
                await release.Task.WaitAsync(ct);
            },
        };
        await using var client = await ConnectAsync(gateway, options);

        gateway.AbortConnections();
        await reconnecting.Task.Within();
        Assert.Equal(ConnMsgConnectionState.Reconnecting, client.State);
        var echo = client.RequestAsync("echo", Json("\"waited\""));
        Assert.False(echo.IsCompleted);
        release.SetResult();

        Assert.Equal("\"waited\"", Text(await echo.Within()));
    }

    [Fact]
    public async Task WithoutReconnectTheClientClosesAndRequestsFailClearly()
    {
        await using var gateway = await TestGateway.StartAsync();
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var client = await ConnectAsync(gateway, Options() with { Reconnect = false });
        client.StateChanged += (_, e) =>
        {
            if (e.Current == ConnMsgConnectionState.Closed)
            {
                closed.TrySetResult(e.Error);
            }
        };

        gateway.AbortConnections();

        Assert.IsType<ConnMsgConnectionLostException>(await closed.Task.Within());
        await Assert.ThrowsAsync<ConnMsgConnectionLostException>(() => client.RequestAsync("echo", Json("1"))).Within();
    }

    [Fact]
    public async Task PlainTopicIsResubscribedAfterReconnect()
    {
        await using var gateway = await TestGateway.StartAsync();
        var reopened = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var subscriber = await ConnectAsync(gateway);
        subscriber.StateChanged += (_, e) =>
        {
            if (e.Previous == ConnMsgConnectionState.Reconnecting && e.Current == ConnMsgConnectionState.Open)
            {
                reopened.TrySetResult();
            }
        };
        await using var publisher = await ConnectAsync(gateway);
        string topic = UniqueTopic("plain.");
        var received = Channel.CreateUnbounded<int>();
        await using var subscription = await subscriber.SubscribeAsync(topic, ind => received.Writer.TryWrite(N(ind))).Within();

        gateway.AbortConnections();
        await reopened.Task.Within(); // Open is reported only after every topic was re-subscribed

        await PublishWithRetryAsync(publisher, topic, 7).Within();
        Assert.Equal(7, await received.Reader.ReadAsync().AsTask().Within());
        var me = await subscriber.RequestAsync("whoami", TestJsonContext.Default.WhoAmI).Within();
        Assert.Contains(topic, me!.Subscriptions);
    }

    [Fact]
    public async Task ServerAbortDuringPublishBurstOnHistoryTopicDeliversEveryIndExactlyOnceInOrder()
    {
        await using var gateway = await TestGateway.StartAsync(TestGateway.CountingFromZero);
        const int Total = 300;
        string topic = UniqueTopic("history.burst.");
        var allowReconnect = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var logger = new TestLogger();
        var subscriberOptions = Options(logger) with
        {
            // Hold the subscriber away until the publisher has published more: those Inds can only come from replay.
            BeforeReconnectAttempt = (_, ct) => new ValueTask(allowReconnect.Task.WaitAsync(ct)),
        };
        await using var subscriber = await ConnectAsync(gateway, subscriberOptions);
        await using var publisher = await ConnectAsync(gateway);
        var recoveryFailures = new ConcurrentQueue<ConnMsgRecoveryFailedEventArgs>();
        subscriber.RecoveryFailed += (_, e) => recoveryFailures.Enqueue(e);

        var received = new ConcurrentQueue<ConnMsgInd>();
        long target = long.MaxValue;
        var reachedTarget = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var subscription = await subscriber.SubscribeAsync(topic, ind =>
        {
            received.Enqueue(ind);
            if (ind.Seq >= Volatile.Read(ref target))
            {
                reachedTarget.TrySetResult();
            }
        }).Within();

        long seqAtAbort = 0;
        for (int n = 0; n < Total; n++)
        {
            await PublishWithRetryAsync(publisher, topic, n).Within();
            if (n == 100)
            {
                gateway.AbortConnections();
            }
            else if (n == 200)
            {
                seqAtAbort = received.IsEmpty ? 0 : received.Last().Seq!.Value;
                allowReconnect.SetResult();
            }
        }

        long current = await CurrentSeqAsync(publisher, topic).Within();
        Volatile.Write(ref target, current);
        if (received.LastOrDefault()?.Seq >= current)
        {
            reachedTarget.TrySetResult();
        }

        await reachedTarget.Task.Within();

        var seqs = received.Select(i => i.Seq!.Value).ToList();
        Assert.Equal(Enumerable.Range(1, (int)current).Select(i => (long)i), seqs); // every seq once, in order, no gap
        var values = received.Select(N).ToList();
        Assert.Equal(Enumerable.Range(0, Total), values.Distinct()); // every publish seen; retries may repeat a value, in order
        Assert.True(current >= Total);
        Assert.True(current - seqAtAbort >= 99, "Inds published while the subscriber was away must have been replayed");
        Assert.Empty(recoveryFailures);
        await logger.WaitForAsync(16, m => m.Contains("recovered True")).Within();
    }

    [Fact]
    public async Task RecoveryImpossibleIsReportedAndLiveDeliveryContinues()
    {
        await using var gateway = await TestGateway.StartAsync(TestGateway.CountingFromZero);
        string topic = UniqueTopic("history.lost.");
        var allowReconnect = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var subscriber = await ConnectAsync(gateway, Options() with
        {
            BeforeReconnectAttempt = (_, ct) => new ValueTask(allowReconnect.Task.WaitAsync(ct)),
        });
        await using var publisher = await ConnectAsync(gateway);
        var failed = new TaskCompletionSource<ConnMsgRecoveryFailedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        subscriber.RecoveryFailed += (_, e) => failed.TrySetResult(e);
        var received = Channel.CreateUnbounded<ConnMsgInd>();
        await using var subscription = await subscriber.SubscribeAsync(topic, ind => received.Writer.TryWrite(ind)).Within();

        await PublishAsync(publisher, topic, 0).Within();
        Assert.Equal(1, (await received.Reader.ReadAsync().AsTask().Within()).Seq);

        gateway.AbortConnections();

        // More than the 1000 kept Inds while the subscriber is away: history no longer reaches back to seq 1.
        const int Missed = 1100;
        for (int batch = 1; batch <= Missed; batch += 50)
        {
            await Task.WhenAll(Enumerable.Range(batch, 50).Select(n => PublishWithRetryAsync(publisher, topic, n))).Within();
        }

        long current = await CurrentSeqAsync(publisher, topic).Within();
        allowReconnect.SetResult();

        var e = await failed.Task.Within();
        Assert.Equal(topic, e.Topic);
        Assert.Equal(1, e.LastSeenSeq);
        Assert.Equal(current, e.CurrentSeq);
        Assert.Null(e.Error);

        // After the report, live Inds continue from the server's current seq.
        await PublishWithRetryAsync(publisher, topic, 5000).Within();
        ConnMsgInd live;
        do
        {
            live = await received.Reader.ReadAsync().AsTask().Within();
        }
        while (N(live) != 5000);

        Assert.Equal(current + 1, live.Seq);
    }

    [Fact]
    public async Task HistoryTopicSubscribedBeforeAnyPublishReplaysFromTheStart()
    {
        await using var gateway = await TestGateway.StartAsync();
        string topic = UniqueTopic("history.empty.");
        var allowReconnect = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var subscriber = await ConnectAsync(gateway, Options() with
        {
            BeforeReconnectAttempt = (_, ct) => new ValueTask(allowReconnect.Task.WaitAsync(ct)),
        });
        await using var publisher = await ConnectAsync(gateway);
        var received = Channel.CreateUnbounded<ConnMsgInd>();
        await using var subscription = await subscriber.SubscribeAsync(topic, ind => received.Writer.TryWrite(ind)).Within();

        // Nothing seen yet, but the cfm gave the topic's current seq (its origin, from the clock): the re-subscription
        // must ask since that, not go live and miss these.
        gateway.AbortConnections();
        for (int n = 1; n <= 3; n++)
        {
            await PublishWithRetryAsync(publisher, topic, n).Within();
        }

        allowReconnect.SetResult();

        long? first = null;
        for (int n = 1; n <= 3; n++)
        {
            var ind = await received.Reader.ReadAsync().AsTask().Within();
            first ??= ind.Seq;
            Assert.Equal(first + n - 1, ind.Seq);
            Assert.Equal(n, N(ind));
        }
    }
}
