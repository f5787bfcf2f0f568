using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using ConnMsg.WebSockets;

namespace ConnMsg.Messaging;

/// <summary>
/// One request being handled: its op, raw id and data, and the means to answer it exactly once.
/// </summary>
/// <remarks>
/// Pooled: the object is reused once the handler's <see cref="ValueTask"/> completes, so a handler must not keep it,
/// nor memory from <see cref="Data"/>, after that. Answering is thread-safe; the first answer wins and later ones are ignored.
/// </remarks>
public sealed class ConnMsgRequest
{
    private byte[] _buffer = Array.Empty<byte>();
    private int _idLength;
    private int _dataLength;
    private int _answered;
    private CancellationTokenSource? _cts;

    internal ConnMsgConnection? Owner;
    internal OpHandler? Handler;
    internal long StartTimestamp;
    internal long StartTickMs;
    internal string? Outcome;

    /// <summary>Its answer took it out of the in-flight table; the handler's completion counts it out of the gauge.</summary>
    internal bool LeftTableOnAnswer;

    /// <summary>
    /// Its handler went asynchronous: the answer, whenever and wherever it is given, records the request's outcome and
    /// latency itself (<see cref="TryMarkCounted"/> keeps that to once).
    /// </summary>
    internal bool Tracked;

    private int _counted;

    /// <summary>The connection the request came on.</summary>
    public ConnMsgConnection Connection => Owner ?? throw new InvalidOperationException("The request is no longer live.");

    /// <summary>The operation name.</summary>
    public string Op => Handler?.Name ?? string.Empty;

    /// <summary>The request's id as its raw JSON token (a number, or a string with its quotes).</summary>
    public ReadOnlySpan<byte> RawId => _buffer.AsSpan(0, _idLength);

    /// <summary>The request's <c>data</c> as raw UTF-8 JSON; <c>null</c> when absent. Valid until the handler completes.</summary>
    public ReadOnlyMemory<byte> Data => _dataLength == 0 ? NullJson : _buffer.AsMemory(_idLength, _dataLength);

    /// <summary>Whether the request's data member was present.</summary>
    public bool HasData => _dataLength != 0;

    /// <summary>
    /// Cancelled when the connection goes away or the request times out before it is answered. Once answered, the
    /// request no longer counts against the connection's in-flight limit and this token is not cancelled any more;
    /// work a handler goes on with after answering should watch <see cref="ConnMsgConnection.Closed"/> instead.
    /// </summary>
    public CancellationToken Aborted
    {
        get
        {
            if (_cts is null)
            {
                _cts = new CancellationTokenSource();
                if (_abortRequested)
                {
                    _cts.Cancel();
                }
            }

            return _cts.Token;
        }
    }

    internal bool AbortRequested => _abortRequested;

    private volatile bool _abortRequested;

    /// <summary>Whether an answer was already sent (or the request timed out).</summary>
    public bool IsAnswered => Volatile.Read(ref _answered) != 0;

    private static readonly ReadOnlyMemory<byte> NullJson = "null"u8.ToArray();

    internal void Init(ConnMsgConnection owner, OpHandler handler, ReadOnlySpan<byte> rawId, ReadOnlySpan<byte> data,
        long startTimestamp, long startTickMs)
    {
        Owner = owner;
        Handler = handler;
        _answered = 0;
        Outcome = null;
        LeftTableOnAnswer = false;
        Tracked = false;
        _counted = 0;
        int needed = rawId.Length + data.Length;
        if (_buffer.Length < needed)
        {
            ReturnBuffer();
            _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(needed, 256));
        }

        // The bytes are copied because the transport's buffer is only ours until the read loop moves on,
        // while an asynchronous handler may run long after that.
        rawId.CopyTo(_buffer);
        data.CopyTo(_buffer.AsSpan(rawId.Length));
        _idLength = rawId.Length;
        _dataLength = data.Length;
        StartTimestamp = startTimestamp;
        StartTickMs = startTickMs;
    }

    /// <summary>Deserialises <see cref="Data"/> with a source-generated <paramref name="typeInfo"/>; malformed data rejects with <c>invalid_argument</c>.</summary>
    public T? ReadData<T>(JsonTypeInfo<T> typeInfo)
    {
        try
        {
            return JsonSerializer.Deserialize(Data.Span, typeInfo);
        }
        catch (JsonException)
        {
            throw new ConnMsgRejectException(RejectCodes.InvalidArgument, "data does not match the operation's schema");
        }
    }

    /// <summary>Answers with a <c>cfm</c> whose data is <paramref name="json"/> (one JSON value; empty for none).</summary>
    /// <exception cref="ArgumentException">The bytes are not exactly one JSON value in valid UTF-8.</exception>
    public void Confirm(ReadOnlySpan<byte> json)
    {
        // The request's own data, exactly (same memory, same length), was validated when it was parsed; anything else,
        // a part of it included, is checked here so that an application bug cannot put invalid JSON on the wire.
        if (!json.IsEmpty && json != Data.Span && !JsonValue.IsSingleValue(json))
        {
            throw new ArgumentException("Confirm needs exactly one JSON value, in UTF-8.", nameof(json));
        }

        if (Owner is not null && TryMarkAnswered())
        {
            Outcome = "cfm";
            Send(MessageWriter.Cfm(RawId, json));
        }
    }

    /// <summary>Answers with a <c>cfm</c> without data.</summary>
    public void Confirm() => Confirm(default);

    /// <summary>
    /// Answers with a <c>cfm</c> whose data is <paramref name="value"/>, serialised with a source-generated
    /// <paramref name="typeInfo"/> and its options (encoder, naming, depth, ...), but never indented: a message is one line.
    /// </summary>
    public void Confirm<T>(T value, JsonTypeInfo<T> typeInfo)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        if (Owner is null || IsAnswered)
        {
            return;
        }

        // Serialised before the request counts as answered: when it throws, the request is still unanswered, so the
        // handler's failure (or its return without an answer) leads to the one rej internal the client is owed.
        OutboundFrame frame = MessageWriter.Cfm(RawId, value, typeInfo);
        if (!TryMarkAnswered())
        {
            frame.Release();
            return;
        }

        Outcome = "cfm";
        Send(frame);
    }

    /// <summary>Answers with a <c>rej</c>.</summary>
    public void Reject(string code, string? reason = null)
    {
        if (!Names.IsSnakeCase(code))
        {
            throw new ArgumentException("A reject code must be snake_case.", nameof(code));
        }

        if (Owner is not null && TryMarkAnswered())
        {
            Outcome = code;
            Send(MessageWriter.Rej(RawId, code, reason));
        }
    }

    /// <summary>
    /// Queues the answer. The request first gives up its place in the in-flight table: once answered it is no longer
    /// in flight for the client (PROTOCOL §3, §4), which may reuse its id and its slot as soon as the answer arrives,
    /// even while the handler still runs.
    /// </summary>
    private void Send(OutboundFrame frame)
    {
        ConnMsgConnection? owner = Owner;
        if (owner is null)
        {
            frame.Release();
            return;
        }

        owner.OnAnswered(this);
        if (Volatile.Read(ref Tracked))
        {
            owner.CountAnswer(this);
        }

        owner.Send(frame);
    }

    // An asynchronous handler's task and what finishes the request when it ends. The continuation is made once per
    // pooled request and the task is awaited by hand, so a request whose handler goes asynchronous allocates no
    // state-machine box of ConnMsg's.
    private static readonly ContextCallback s_finishHandler = static state => ((ConnMsgRequest)state!).FinishHandler();
    private ValueTask _handlerTask;
    private ExecutionContext? _handlerContext;
    private Action? _onHandlerDone;

    /// <summary>
    /// Waits for a handler that returned a pending task, then has the owner finish the request with its outcome. The
    /// caller's execution context (the connection's log scope, for one) flows to that finish as an <c>await</c> would.
    /// </summary>
    internal void AwaitHandler(ValueTask pending)
    {
        _handlerTask = pending;
        _handlerContext = ExecutionContext.Capture();
        try
        {
            pending.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_onHandlerDone ??= OnHandlerDone);
        }
        catch (Exception ex)
        {
            // Only a broken IValueTaskSource refuses a continuation: finish now rather than leave the request in flight.
            _handlerTask = default;
            _handlerContext = null;
            Owner!.FinishHandler(this, ex);
        }
    }

    private void OnHandlerDone()
    {
        ExecutionContext? context = _handlerContext;
        _handlerContext = null;
        if (context is null)
        {
            FinishHandler();
        }
        else
        {
            ExecutionContext.Run(context, s_finishHandler, this);
        }
    }

    private void FinishHandler()
    {
        // Taken out before the owner finishes the request: that may recycle this object for the next request.
        ValueTask pending = _handlerTask;
        _handlerTask = default;
        Exception? fault = null;
        try
        {
            pending.GetAwaiter().GetResult();
        }
        catch (Exception ex)
        {
            fault = ex;
        }

        Owner!.FinishHandler(this, fault);
    }

    private int _references;

    internal void SetReferences(int count) => Volatile.Write(ref _references, count);

    /// <summary>Drops one reference; true for the last one.</summary>
    internal bool ReleaseReference() => Interlocked.Decrement(ref _references) == 0;

    internal bool TryMarkAnswered() => Interlocked.Exchange(ref _answered, 1) == 0;

    /// <summary>True for the one caller that records this request's answer in the metrics.</summary>
    internal bool TryMarkCounted() => Interlocked.Exchange(ref _counted, 1) == 0;

    /// <summary>Whether the handler asked for <see cref="Aborted"/>, so that cancelling runs its callbacks.</summary>
    internal bool HasAbortedToken => Volatile.Read(ref _cts) is not null;

    internal void Cancel()
    {
        _abortRequested = true;
        try
        {
            _cts?.Cancel();
        }
        catch (AggregateException)
        {
            // A callback registered by the handler threw; the request is being abandoned anyway.
        }
    }

    internal void Reset()
    {
        Owner = null;
        Handler = null;
        _abortRequested = false;
        if (_cts is not null && !_cts.TryReset())
        {
            _cts.Dispose();
            _cts = null;
        }

        if (_buffer.Length > 16 * 1024)
        {
            ReturnBuffer();
        }
    }

    private void ReturnBuffer()
    {
        byte[] buffer = _buffer;
        _buffer = Array.Empty<byte>();
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
