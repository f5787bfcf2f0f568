using System.Text.Json;
using ConnMsg.Messaging;
using ConnMsg.Tests.Infrastructure;
using ConnMsg.Tests.Messaging.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ConnMsg.Tests.Messaging;

/// <summary>
/// A handler that returns a pending task: the request is finished when that task ends, on whichever thread ends it,
/// exactly as if ConnMsg had awaited it there.
/// </summary>
public sealed class AsyncHandlerCompletionTests
{
    private const int HandlerFailedEvent = 2003;
    private const int FinishFailedEvent = 2008;

    [Fact]
    public async Task AHandlerTaskFailedFromOutsideTheConnectionIsRejectedInternalAndLoggedInTheConnectionsScope()
    {
        var recorder = new ScopedLogRecorder();
        // No RunContinuationsAsynchronously: whatever waits on the task runs on this test's thread when it fails, a
        // thread outside any connection's logging scope.
        var work = new TaskCompletionSource();
        var started = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestServer server = await StartWithOutsideWorkAsync(recorder, work, started);
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);

        await client.SendAsync("""{"type":"req","id":1,"op":"work.outside"}""");
        string connectionId = await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        work.SetException(new InvalidOperationException("failed outside"));

        JsonElement answer = await client.ReceiveJsonAsync();
        Assert.Equal("rej", answer.Type());
        Assert.Equal("internal", answer.Str("code"));
        ScopedLogRecorder.Entry failure = Assert.Single(recorder.Entries, e => e.EventId == HandlerFailedEvent);
        Assert.Equal(connectionId, failure.ScopeValues.GetValueOrDefault("ConnectionId"));
    }

    [Fact]
    public async Task AHandlerTaskCompletedFromOutsideTheConnectionIsAnsweredAndItsIdFreed()
    {
        var work = new TaskCompletionSource();
        var started = new TaskCompletionSource<ConnMsgRequest>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestServer server = await TestServer.StartAsync(configure: c => c.MapRequest("work.outside", request =>
        {
            started.TrySetResult(request);
            return new ValueTask(work.Task);
        }));
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);

        await client.SendAsync("""{"type":"req","id":"a","op":"work.outside"}""");
        ConnMsgRequest request = await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        request.Confirm("{\"done\":true}"u8);
        work.SetResult();

        JsonElement answer = await client.ReceiveJsonAsync();
        Assert.Equal("cfm", answer.Type());
        Assert.Equal("""{"done":true}""", answer.Raw("data"));
        // The id is free again once the request finished: the same id is dispatched, not rejected as a duplicate.
        JsonElement again = await client.RequestAsync("""{"type":"req","id":"a","op":"echo","data":1}""");
        Assert.Equal("cfm", again.Type());
    }

    [Fact]
    public async Task AHandlerTaskThatRefusesAContinuationIsRejectedInternalAtOnce()
    {
        await using TestServer server = await TestServer.StartAsync(configure: c =>
            c.MapRequest("work.broken", _ => RefusingTaskSource<bool>.Task));
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);

        JsonElement answer = await client.RequestAsync("""{"type":"req","id":1,"op":"work.broken"}""");
        Assert.Equal("rej", answer.Type());
        Assert.Equal("internal", answer.Str("code"));
        // The connection goes on.
        Assert.Equal("cfm", (await client.RequestAsync("""{"type":"req","id":2,"op":"echo","data":2}""")).Type());
    }

#if DEBUG
    [Fact]
    public async Task AFailureWhileFinishingAnAsynchronousRequestAbortsOnlyThatConnectionAndIsLoggedAsSuch()
    {
        var recorder = new ScopedLogRecorder();
        var work = new TaskCompletionSource();
        var started = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        // ConnMsg's own finishing of the request fails (a Debug-only seam), not the handler.
        await using TestServer server = await StartWithOutsideWorkAsync(recorder, work, started,
            request => request.Connection.BeforeFinishHandler = () => throw new InvalidOperationException("finish failed"));
        await using WsClient client = await WsClient.ConnectAsync(server.WebSocketUri);
        await using WsClient bystander = await WsClient.ConnectAsync(server.WebSocketUri);

        await client.SendAsync("""{"type":"req","id":1,"op":"work.outside"}""");
        string connectionId = await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        work.SetResult();

        ScopedLogRecorder.Entry failure = await recorder.FirstAsync(FinishFailedEvent).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains("Finishing a work.outside request failed on connection " + connectionId, failure.Message);
        Assert.DoesNotContain(recorder.Entries, e => e.EventId is HandlerFailedEvent or 2005);
        // Nothing can be promised about a request whose finishing failed half-way: the connection is dropped, no answer.
        await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() => client.ReceiveAsync());
        Assert.Equal("cfm", (await bystander.RequestAsync("""{"type":"req","id":1,"op":"echo","data":1}""")).Type());
    }
#endif

    /// <summary>
    /// A server logging to <paramref name="recorder"/> whose <c>work.outside</c> handler returns <paramref name="work"/>'s
    /// task, for the test to end from its own thread, and reports the connection's id through <paramref name="started"/>.
    /// </summary>
    private static Task<TestServer> StartWithOutsideWorkAsync(ScopedLogRecorder recorder, TaskCompletionSource work,
        TaskCompletionSource<string> started, Action<ConnMsgRequest>? onStart = null) =>
        TestServer.StartAsync(configure: c =>
        {
            c.Services.AddSingleton<ILoggerProvider>(recorder);
            c.MapRequest("work.outside", request =>
            {
                onStart?.Invoke(request);
                started.TrySetResult(request.Connection.Id);
                return new ValueTask(work.Task);
            });
        });
}
