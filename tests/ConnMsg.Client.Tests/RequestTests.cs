using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using ConnMsg.Client.Tests.Infrastructure;
using static ConnMsg.Client.Tests.Infrastructure.TestClients;

namespace ConnMsg.Client.Tests;

/// <summary>Requests against the real gateway's demo service (PROTOCOL Appendix A).</summary>
public sealed class RequestTests
{
    [Fact]
    public async Task ConnectOffersConnmsgV1AndReadsSession()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await ConnectAsync(gateway);

        Assert.Equal(ConnMsgConnectionState.Open, client.State);
        var session = client.Session;
        Assert.NotNull(session);
        Assert.False(string.IsNullOrEmpty(session.Id));
        Assert.Equal(64 * 1024, session.MaxMessage);
        Assert.True(session.MaxInFlight > 0);

        // whoami reports the same connection id the $session Ind announced.
        var me = await client.RequestAsync("whoami", TestJsonContext.Default.WhoAmI).Within();
        Assert.Equal(session.Id, me!.Id);
    }

    [Fact]
    public async Task SessionKeepAliveOfASubSecondServerIntervalIsNotTruncatedToWholeSeconds()
    {
        await using var gateway = await TestGateway.StartAsync("--ConnMsg:KeepAliveInterval=00:00:01.500");
        await using var client = await ConnectAsync(gateway);

        Assert.Equal(TimeSpan.FromMilliseconds(1500), client.Session!.KeepAlive);
    }

    [Fact]
    public async Task EchoWithSourceGeneratedTypeInfosRoundTrips()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await ConnectAsync(gateway);

        var order = new Order("A1", 2);
        var echoed = await client.RequestAsync("echo", order, TestJsonContext.Default.Order, TestJsonContext.Default.Order).Within();

        Assert.Equal(order, echoed);
    }

    [Fact]
    public async Task EchoWithReflectionSerialisationRoundTrips()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await ConnectAsync(gateway);

        var echoed = await client.RequestAsync<Order>("echo", new Order("Z9", 7)).Within();

        Assert.Equal(new Order("Z9", 7), echoed);
    }

    [Fact]
    public async Task RawRequestReturnsRawData()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await ConnectAsync(gateway);

        var answer = await client.RequestAsync("echo", Json("""{"a":[1,2,{"b":null}],"s":"é✓"}""")).Within();

        using var doc = JsonDocument.Parse(answer);
        Assert.Equal(3, doc.RootElement.GetProperty("a").GetArrayLength());
        Assert.Equal("é✓", doc.RootElement.GetProperty("s").GetString());
    }

    [Fact]
    public async Task RequestWithoutDataGetsAnswer()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await ConnectAsync(gateway);

        var time = await client.RequestAsync("time", TestJsonContext.Default.TimeResult).Within();

        Assert.InRange(time!.Utc, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(5));
    }

    [Fact]
    public async Task PingEchoesData()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await ConnectAsync(gateway);

        var answer = await client.RequestAsync("$ping", Json("""{"t":42}""")).Within();

        Assert.Equal("""{"t":42}""", Text(answer).Replace(" ", ""));
    }

    [Fact]
    public async Task EchoWithoutDataAnswersNull()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await ConnectAsync(gateway);

        var answer = await client.RequestAsync("echo", ReadOnlyMemory<byte>.Empty).Within();

        Assert.Equal("null", Text(answer)); // absent data reads as null (PROTOCOL §3)
    }

    [Fact]
    public async Task UnsubscribeOfATopicNeverSubscribedIsConfirmed()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await ConnectAsync(gateway);

        // PROTOCOL §5.2: `$unsubscribe` → cfm, also when it was not subscribed.
        await client.RequestAsync("$unsubscribe", Json("""{"topic":"never.subscribed"}""")).Within();

        Assert.Equal(ConnMsgConnectionState.Open, client.State);
    }

    [Theory]
    [InlineData("""{"ms":60001}""")]
    [InlineData("""{"ms":"10"}""")]
    [InlineData("""{}""")]
    [InlineData("null")]
    public async Task SleepOutsideItsRangeIsInvalidArgument(string data)
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await ConnectAsync(gateway);

        var e = await Assert.ThrowsAsync<ConnMsgRejectedException>(() => client.RequestAsync("sleep", Json(data))).Within();

        Assert.Equal("invalid_argument", e.Code);
    }

    [Fact]
    public async Task RejAnswerThrowsRejectedWithCodeAndReason()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await ConnectAsync(gateway);

        var e = await Assert.ThrowsAsync<ConnMsgRejectedException>(
            () => client.RequestAsync("fail", Json("""{"code":"not_found","reason":"no such order"}"""))).Within();

        Assert.Equal("not_found", e.Code);
        Assert.Equal("no such order", e.Reason);
    }

    [Fact]
    public async Task UnknownOpIsRejectedUnknownOp()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await ConnectAsync(gateway);

        var e = await Assert.ThrowsAsync<ConnMsgRejectedException>(() => client.RequestAsync("no.such.op", default(ReadOnlyMemory<byte>))).Within();

        Assert.Equal("unknown_op", e.Code);
    }

    [Fact]
    public async Task InvalidArgumentIsRejected()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await ConnectAsync(gateway);

        var e = await Assert.ThrowsAsync<ConnMsgRejectedException>(
            () => client.RequestAsync("sleep", new SleepRequest(-1), TestJsonContext.Default.SleepRequest, TestJsonContext.Default.SleepResult)).Within();

        Assert.Equal("invalid_argument", e.Code);
    }

    [Fact]
    public async Task InvalidOpNameIsRefusedBeforeSending()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await ConnectAsync(gateway);

        Assert.Throws<ArgumentException>(() => { _ = client.RequestAsync("has space", Json("1")); });
        Assert.Throws<ArgumentException>(() => { _ = client.RequestAsync(new string('a', 129), Json("1")); });
        Assert.Throws<ArgumentException>(() => { _ = client.RequestAsync("$", Json("1")); });
        var nonAscii = Assert.Throws<ArgumentException>(() => { _ = client.RequestAsync("caf\u00e9", Json("1")); });
        Assert.Contains("contains '\u00e9'", nonAscii.Message);
        Assert.Equal("1", Text(await client.RequestAsync("echo", Json("1")).Within()));
    }

    [Fact]
    public async Task InvalidRawJsonIsRefusedBeforeSending()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await ConnectAsync(gateway);

        Assert.ThrowsAny<JsonException>(() => { _ = client.RequestAsync("echo", Json("{not json")); });
        Assert.Equal("2", Text(await client.RequestAsync("echo", Json("2")).Within()));
    }

    [Fact]
    public async Task ConcurrentRequestsFromManyThreadsEachGetTheirOwnAnswer()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await ConnectAsync(gateway);
        const int Threads = 8;
        const int PerThread = 200;
        var mismatches = new ConcurrentBag<string>();

        var threads = Enumerable.Range(0, Threads).Select(t => Task.Run(async () =>
        {
            // Each thread keeps several requests in flight at once, so answers interleave on the wire.
            for (int batch = 0; batch < PerThread; batch += 20)
            {
                var inFlight = Enumerable.Range(batch, 20).Select(async i =>
                {
                    string sent = $$"""{"t":{{t}},"i":{{i}}}""";
                    string got = Text(await client.RequestAsync("echo", Json(sent))).Replace(" ", "");
                    if (got != sent)
                    {
                        mismatches.Add($"sent {sent} got {got}");
                    }
                });
                await Task.WhenAll(inFlight);
            }
        })).ToArray();

        await Task.WhenAll(threads).Within();

        Assert.Empty(mismatches);
    }

    [Fact]
    public async Task BurstBeyondMaxInFlightWaitsForSlotsInsteadOfBeingRejectedOverloaded()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await ConnectAsync(gateway);
        int limit = client.Session!.MaxInFlight;

        // Twice the server's limit at once, each held for a while: without client-side slots the excess is rejected `overloaded`.
        var requests = Enumerable.Range(0, limit * 2)
            .Select(_ => client.RequestAsync("sleep", new SleepRequest(100), TestJsonContext.Default.SleepRequest, TestJsonContext.Default.SleepResult))
            .ToArray();
        var results = await Task.WhenAll(requests).Within();

        Assert.All(results, r => Assert.Equal(100, r!.Slept));
    }

    [Fact]
    public async Task CancelledRequestThrowsAndItsLateAnswerIsDiscardedNotMisdelivered()
    {
        await using var gateway = await TestGateway.StartAsync();
        var logger = new TestLogger();
        await using var client = await ConnectAsync(gateway, Options(logger));

        using var cts = new CancellationTokenSource();
        var cancelled = client.RequestAsync("sleep", new SleepRequest(300), TestJsonContext.Default.SleepRequest, TestJsonContext.Default.SleepResult, cts.Token);

        // Still pending when the cancelled one's answer arrives: it must get its own answer, not the orphan.
        var other = client.RequestAsync("sleep", new SleepRequest(600), TestJsonContext.Default.SleepRequest, TestJsonContext.Default.SleepResult);

        // An answered echo proves the sleep request reached the server before we cancel.
        await client.RequestAsync("echo", Json("0")).Within();
        cts.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled).Within();
        await logger.WaitForAsync(6).Within(); // AnswerDiscarded: the orphan answer arrived and was dropped
        Assert.Equal(600, (await other.Within())!.Slept);
    }

    [Fact]
    public async Task CancelledRequestEndsCanceledWithTheClientsOwnException()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await ConnectAsync(gateway);

        using var cts = new CancellationTokenSource();
        var cancelled = client.RequestAsync("sleep", new SleepRequest(300), TestJsonContext.Default.SleepRequest, TestJsonContext.Default.SleepResult, cts.Token);
        await client.RequestAsync("echo", Json("0")).Within();
        cts.Cancel();

        // As an async method would end it: Canceled (not Faulted), rethrowing the client's exception, not a TaskCanceledException.
        var error = await Assert.ThrowsAsync<OperationCanceledException>(() => cancelled).Within();
        Assert.True(cancelled.IsCanceled);
        Assert.Equal("The request was cancelled.", error.Message);
        Assert.Equal(cts.Token, error.CancellationToken);
    }

    [Fact]
    public async Task AnsweredRequestIsUnaffectedByALaterCancelOfItsToken()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await ConnectAsync(gateway);

        using var cts = new CancellationTokenSource();
        var answered = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => client.RequestAsync("echo", Json(i.ToString()), cts.Token))).Within();
        cts.Cancel();

        Assert.Equal(Enumerable.Range(0, 100).Select(i => i.ToString()), answered.Select(a => Encoding.UTF8.GetString(a.Span)));
        Assert.Equal("1", Encoding.UTF8.GetString((await client.RequestAsync("echo", Json("1")).Within()).Span));
    }

    [Fact]
    public async Task TimedOutRequestThrowsTimeoutAndLaterRequestsStillWork()
    {
        await using var gateway = await TestGateway.StartAsync();
        var logger = new TestLogger();
        await using var client = await ConnectAsync(gateway, Options(logger) with { RequestTimeout = TimeSpan.FromMilliseconds(200) });

        await Assert.ThrowsAsync<TimeoutException>(
            () => client.RequestAsync("sleep", new SleepRequest(1000), TestJsonContext.Default.SleepRequest, TestJsonContext.Default.SleepResult)).Within();
        await logger.WaitForAsync(6).Within();

        // Per-request override of the options' default timeout.
        var slept = await client.RequestAsync("sleep", new SleepRequest(400), TestJsonContext.Default.SleepRequest, TestJsonContext.Default.SleepResult, TimeSpan.FromSeconds(10)).Within();
        Assert.Equal(400, slept!.Slept);
        Assert.Equal(ConnMsgConnectionState.Open, client.State);
    }

    [Fact]
    public async Task PerRequestTimeoutShorterThanTheSweepPeriodStillFiresOnTime()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await ConnectAsync(gateway, Options() with { RequestTimeout = TimeSpan.FromSeconds(30) });

        // 30 s default: the connection sweeps once a second, so a 300 ms request must use its own timer.
        var started = System.Diagnostics.Stopwatch.StartNew();
        await Assert.ThrowsAsync<TimeoutException>(
            () => client.RequestAsync("sleep", new SleepRequest(10_000), TestJsonContext.Default.SleepRequest, TestJsonContext.Default.SleepResult, TimeSpan.FromMilliseconds(300))).Within();
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(5), $"timed out after {started.Elapsed}");
    }

    [Fact]
    public async Task SweptTimeoutFailsEveryExpiredRequestNeitherEarlyNorMuchLater()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await ConnectAsync(gateway, Options() with { RequestTimeout = TimeSpan.FromMilliseconds(800) });

        var started = System.Diagnostics.Stopwatch.StartNew();
        var sleeping = Enumerable.Range(0, 20)
            .Select(_ => client.RequestAsync("sleep", new SleepRequest(10_000), TestJsonContext.Default.SleepRequest, TestJsonContext.Default.SleepResult))
            .ToArray();
        foreach (var request in sleeping)
        {
            await Assert.ThrowsAsync<TimeoutException>(() => request).Within();
        }

        Assert.True(started.Elapsed >= TimeSpan.FromMilliseconds(800), $"timed out early, after {started.Elapsed}");
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(5), $"timed out late, after {started.Elapsed}");

        // The connection is still usable for requests that are answered in time.
        Assert.Equal("\"ok\"", Text(await client.RequestAsync("echo", Json("\"ok\"")).Within()));
    }

    [Fact]
    public async Task OversizeMessageIsRefusedClientSideAndConnectionSurvives()
    {
        await using var gateway = await TestGateway.StartAsync();
        var states = new ConcurrentQueue<ConnMsgConnectionState>();
        await using var client = await ConnectAsync(gateway);
        client.StateChanged += (_, e) => states.Enqueue(e.Current);
        int limit = client.Session!.MaxMessage;

        string big = "\"" + new string('x', limit) + "\"";
        var e = await Assert.ThrowsAsync<ConnMsgMessageTooLargeException>(() => client.RequestAsync("echo", Json(big))).Within();

        Assert.Equal(limit, e.Limit);
        Assert.True(e.Size > limit);

        // Just under the limit still goes through, and the connection was never closed (no 1009).
        string fits = "\"" + new string('y', limit - 100) + "\"";
        var echoed = await client.RequestAsync("echo", Json(fits)).Within();
        Assert.Equal(fits.Length, echoed.Length);
        Assert.Equal(ConnMsgConnectionState.Open, client.State);
        Assert.Empty(states);
    }

    [Fact]
    public async Task MessageOfExactlyMaxMessageBytesIsSentAndAnswered()
    {
        await using var gateway = await TestGateway.StartAsync();
        await using var client = await ConnectAsync(gateway);
        int limit = client.Session!.MaxMessage;

        // A fresh client's first request has id 1: {"type":"req","id":1,"op":"echo","data":"xxx…"} is exactly `limit` bytes.
        const string Envelope = "{\"type\":\"req\",\"id\":1,\"op\":\"echo\",\"data\":\"\"}";
        string data = "\"" + new string('x', limit - Envelope.Length) + "\"";
        var echoed = await client.RequestAsync("echo", Json(data)).Within();

        Assert.Equal(data.Length, echoed.Length);
        Assert.Equal(ConnMsgConnectionState.Open, client.State);
    }

    [Fact]
    public async Task RequestAfterDisposeThrowsObjectDisposed()
    {
        await using var gateway = await TestGateway.StartAsync();
        var client = await ConnectAsync(gateway);
        await client.DisposeAsync();

        Assert.Equal(ConnMsgConnectionState.Closed, client.State);
        Assert.Throws<ObjectDisposedException>(() => { _ = client.RequestAsync("echo", Json("1")); });
    }

    [Fact]
    public async Task DisposeFailsInFlightRequests()
    {
        await using var gateway = await TestGateway.StartAsync();
        var client = await ConnectAsync(gateway);
        var sleeping = client.RequestAsync("sleep", Json("""{"ms":30000}"""));
        await client.RequestAsync("echo", Json("0")).Within();

        await client.DisposeAsync().AsTask().Within();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => sleeping).Within();
    }
}
