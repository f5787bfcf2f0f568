using System.Text.Json.Serialization.Metadata;
using ConnMsg.Http;
using ConnMsg.Messaging;
using Microsoft.Extensions.DependencyInjection;

namespace ConnMsg.Hosting;

/// <summary>Registers a ConnMsg server's handlers and hooks; returned by <see cref="ConnMsgServiceCollectionExtensions.AddConnMsg"/>.</summary>
/// <remarks>Use during startup only; the registrations are frozen when the server starts.</remarks>
public sealed class ConnMsgBuilder
{
    private readonly ConnMsgEndpointSettings _settings;

    internal ConnMsgBuilder(IServiceCollection services, ConnMsgEndpointSettings settings)
    {
        Services = services;
        _settings = settings;
    }

    /// <summary>The application's services.</summary>
    public IServiceCollection Services { get; }

    /// <summary>Maps <paramref name="op"/> to a raw handler: the fastest path, with the request's data as raw JSON.</summary>
    public ConnMsgBuilder MapRequest(string op, ConnMsgRequestHandler handler)
    {
        if (!Names.IsValid(op, Names.MaxOpBytes, allowReserved: false))
        {
            throw new ArgumentException("op must be 1..128 characters of A-Z a-z 0-9 . _ - : / (names starting with $ are reserved).", nameof(op));
        }

        ArgumentNullException.ThrowIfNull(handler);
        if (!_settings.Handlers.TryAdd(op, handler))
        {
            throw new InvalidOperationException($"The op '{op}' is already mapped.");
        }

        return this;
    }

    /// <summary>
    /// Maps <paramref name="op"/> to a typed handler. Data and result go through source-generated System.Text.Json
    /// metadata (no reflection). Data that does not fit <typeparamref name="TRequest"/> rejects with <c>invalid_argument</c>;
    /// throw <see cref="ConnMsgRejectException"/> to reject.
    /// </summary>
    public ConnMsgBuilder MapRequest<TRequest, TResult>(string op, JsonTypeInfo<TRequest> requestInfo, JsonTypeInfo<TResult> resultInfo,
        Func<TRequest?, ConnMsgConnection, CancellationToken, ValueTask<TResult>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return MapRequest(op, request =>
        {
            TRequest? data = request.ReadData(requestInfo);
            ValueTask<TResult> pending = handler(data, request.Connection, request.Aborted);
            if (pending.IsCompletedSuccessfully)
            {
                request.Confirm(pending.Result, resultInfo);
                return default;
            }

            return AwaitTyped(request, pending, resultInfo);
        });
    }

    private static async ValueTask AwaitTyped<TResult>(ConnMsgRequest request, ValueTask<TResult> pending, JsonTypeInfo<TResult> resultInfo)
    {
        TResult result = await pending.ConfigureAwait(false);
        request.Confirm(result, resultInfo);
    }

    /// <summary>Creates a state object for every connection (see <see cref="ConnMsgConnection.GetState{TState}"/>); disposed on disconnect if disposable.</summary>
    public ConnMsgBuilder WithState<TState>(Func<ConnMsgConnection, TState> factory) where TState : class
    {
        ArgumentNullException.ThrowIfNull(factory);
        _settings.StateFactory = c => factory(c);
        return this;
    }

    /// <summary>Runs after a connection is accepted and its <c>$session</c> Ind queued, before its first message is read.</summary>
    public ConnMsgBuilder OnConnected(Func<ConnMsgConnection, CancellationToken, ValueTask> callback)
    {
        _settings.OnConnected.Add(callback ?? throw new ArgumentNullException(nameof(callback)));
        return this;
    }

    /// <summary>Runs once a connection has closed.</summary>
    public ConnMsgBuilder OnDisconnected(Func<ConnMsgConnection, ValueTask> callback)
    {
        _settings.OnDisconnected.Add(callback ?? throw new ArgumentNullException(nameof(callback)));
        return this;
    }

    /// <summary>Accepts or refuses (401/403) a handshake from its request line and headers, e.g. to authenticate.</summary>
    /// <remarks>
    /// The hook must decide within what is left of <see cref="ConnMsgOptions.HandshakeTimeout"/> once the request has
    /// arrived; after that the client gets 503. Its token fires then, or when the client leaves.
    /// </remarks>
    public ConnMsgBuilder OnHandshake(Func<HttpRequestHead, CancellationToken, ValueTask<HandshakeVerdict>> hook)
    {
        _settings.Handshake = hook ?? throw new ArgumentNullException(nameof(hook));
        return this;
    }

    /// <summary>Decides whether a connection may subscribe to a topic; refused subscriptions get <c>forbidden</c>.</summary>
    public ConnMsgBuilder AuthorizeSubscribe(Func<ConnMsgConnection, string, bool> authorize)
    {
        _settings.AuthorizeSubscribe = authorize ?? throw new ArgumentNullException(nameof(authorize));
        return this;
    }

    /// <summary>Receives Inds that clients send (topic and raw JSON data).</summary>
    public ConnMsgBuilder OnIndication(Action<ConnMsgConnection, string, ReadOnlyMemory<byte>> handler)
    {
        _settings.OnInd = handler ?? throw new ArgumentNullException(nameof(handler));
        return this;
    }

    /// <summary>Serves fixed content for <c>GET <paramref name="path"/></c> on the same port.</summary>
    public ConnMsgBuilder MapStatic(string path, string contentType, ReadOnlyMemory<byte> body)
    {
        _settings.StaticContent[path] = new HttpResponse(200, contentType, body);
        return this;
    }
}
