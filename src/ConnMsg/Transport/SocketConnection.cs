using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ConnMsg.Transport;

/// <summary>
/// One accepted TCP connection as Kestrel sees it: its <see cref="Transport"/> reads and writes the socket directly
/// (<see cref="SocketInput"/>, <see cref="SocketOutput"/>). Everything a held connection does not need is created on
/// first use: the closed token, the items, the remote end point's string, the id.
/// </summary>
internal sealed partial class SocketConnection : ConnectionContext, IDuplexPipe,
    IConnectionIdFeature, IConnectionTransportFeature, IConnectionItemsFeature, IConnectionEndPointFeature, IConnectionLifetimeFeature, IConnectionSocketFeature
{
    private static long s_lastId;

    private readonly Socket _socket;
    private readonly SocketInput _input;
    private readonly SocketOutput _output;
    private readonly long _id;
    private string? _connectionId;
    private IDuplexPipe _transport;
    private IDictionary<object, object?>? _items;
    private EndPoint? _localEndPoint;
    private EndPoint? _remoteEndPoint;
    private CancellationTokenSource? _closed;
    private int _closedSignaled;
    // Set once, by the first Abort: it marks the connection aborted and is what failed reads report.
    private ConnectionAbortedException? _abortReason;
    private int _disposed;
    private readonly ILogger _logger;

    public SocketConnection(Socket socket, int maxReadBufferSize, ILogger? logger = null)
    {
        _socket = socket;
        _logger = logger ?? NullLogger.Instance;
        _id = Interlocked.Increment(ref s_lastId);
        _input = new SocketInput(this, socket, maxReadBufferSize);
        _output = new SocketOutput(this, socket);
        _transport = this;
    }

    /// <inheritdoc />
    public override string ConnectionId
    {
        get => _connectionId ??= "cm-" + _id.ToString("X", System.Globalization.CultureInfo.InvariantCulture);
        set => _connectionId = value;
    }

    /// <inheritdoc />
    public override IFeatureCollection Features => this;

    /// <inheritdoc />
    public override IDictionary<object, object?> Items
    {
        get => _items ??= new ConnectionItems();
        set => _items = value;
    }

    /// <inheritdoc />
    public override IDuplexPipe Transport
    {
        get => _transport;
        set => _transport = value;
    }

    /// <inheritdoc />
    public override EndPoint? LocalEndPoint
    {
        get => _localEndPoint ??= _socket.LocalEndPoint;
        set => _localEndPoint = value;
    }

    /// <inheritdoc />
    public override EndPoint? RemoteEndPoint
    {
        get => _remoteEndPoint ??= _socket.RemoteEndPoint;
        set => _remoteEndPoint = value;
    }

    /// <inheritdoc />
    public override CancellationToken ConnectionClosed
    {
        get
        {
            if (_closed is null)
            {
                var created = new CancellationTokenSource();
                if (Interlocked.CompareExchange(ref _closed, created, null) is not null)
                {
                    created.Dispose();
                }
                else if (Volatile.Read(ref _closedSignaled) != 0)
                {
                    created.Cancel();
                }
                else
                {
                    // Only a receive notices the peer leaving, and no read may be out (the handshake hook runs between
                    // the request head and the first frame): Kestrel's transports, which always receive, fire the token
                    // then too.
                    _input.WatchWhileIdle();
                }
            }

            return _closed.Token;
        }
        set => throw new NotSupportedException("The closed token is the transport's.");
    }

    PipeReader IDuplexPipe.Input => _input;

    PipeWriter IDuplexPipe.Output => _output;

    Socket IConnectionSocketFeature.Socket => _socket;

    /// <summary>The read side, for tests.</summary>
    internal SocketInput Input => _input;

    /// <summary>The write side, for tests.</summary>
    internal SocketOutput Output => _output;

    /// <inheritdoc />
    public override void Abort(ConnectionAbortedException abortReason)
    {
        abortReason ??= new ConnectionAbortedException("The connection was aborted.");
        if (Interlocked.CompareExchange(ref _abortReason, abortReason, null) is not null)
        {
            return;
        }

        // An abort discards: a close with linger 0 resets the connection, so what the kernel still holds is dropped
        // rather than delivered behind the application's back, and no FIN lets the peer take a cut-off stream for a
        // whole one. Kestrel's transport drops what its output pipe holds; here the kernel holds it. Closing also fails
        // any pending receive or send, which report the abort reason.
        try
        {
            _socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }

        _socket.Dispose();
        SignalClosed();
    }

    /// <inheritdoc />
    public override ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return default;
        }

        if (Volatile.Read(ref _abortReason) is null)
        {
            try
            {
                _socket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
            }
        }

        _socket.Dispose();
        SignalClosed();
        _input.ReleaseBuffer();
        _output.ReleaseBuffer();
        return default;
    }

    /// <summary>The reason of the first <see cref="Abort(ConnectionAbortedException)"/>, or null while not aborted.</summary>
    internal ConnectionAbortedException? AbortReason => Volatile.Read(ref _abortReason);

    /// <summary>What a failed socket operation means to the reader or writer: an abort, a reset, or an I/O error.</summary>
    internal Exception TranslateError(Exception error)
    {
        if (AbortReason is ConnectionAbortedException reason)
        {
            return reason;
        }

        return error switch
        {
            SocketException { SocketErrorCode: SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown } e
                => new ConnectionResetException(e.Message, e),
            SocketException { SocketErrorCode: SocketError.OperationAborted } or ObjectDisposedException
                => new ConnectionAbortedException("The connection was closed.", error),
            SocketException e => new IOException(e.Message, e),
            _ => error,
        };
    }

    /// <summary>The peer ended its side, or the receive failed.</summary>
    internal void OnReceiveEnded() => SignalClosed();

    /// <summary>A send failed: the connection cannot carry anything more.</summary>
    internal void OnSendFailed(Exception error)
        => Abort(error as ConnectionAbortedException ?? new ConnectionAbortedException("A send failed.", error));

    /// <summary>The application completed the output: send FIN once everything written has gone.</summary>
    internal void OnOutputCompleted(Exception? error)
    {
        if (error is not null)
        {
            Abort(new ConnectionAbortedException("The application completed the output with an error.", error));
            return;
        }

        try
        {
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    private void SignalClosed()
    {
        if (Interlocked.Exchange(ref _closedSignaled, 1) != 0)
        {
            return;
        }

        if (Volatile.Read(ref _closed) is CancellationTokenSource closed)
        {
            // Callbacks belong to the application: never run them on the I/O thread that noticed the close, and never let
            // one that throws take the process down from a pool thread (as Kestrel's transports, it is logged).
            ThreadPool.UnsafeQueueUserWorkItem(static s =>
            {
                try
                {
                    s.Closed.Cancel();
                }
                catch (Exception ex)
                {
                    Diagnostics.TransportLog.ConnectionClosedCallbackFailed(s.Connection._logger, s.Connection.ConnectionId, ex);
                }
            }, (Closed: closed, Connection: this), preferLocal: false);
        }
    }

    private sealed class ConnectionItems : Dictionary<object, object?>
    {
    }
}
