using System.Diagnostics;
using System.Net.Http;
using System.Net.WebSockets;
using ConnMsg.Client.Internal;

namespace ConnMsg.Client;

public sealed partial class ConnMsgClient
{
    /// <summary>Handshake, start the transport, then wait (bounded) for <c>$session</c> so the first requests see the real limits.</summary>
    private async Task<Connection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        Transport transport;
        using (var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            connectTimeout.CancelAfter(_options.ConnectTimeout);
            try
            {
                transport = UsesClientWebSocket()
                    ? await ConnectClientWebSocketAsync(connectTimeout.Token).ConfigureAwait(false)
                    : await SocketTransport.ConnectAsync(Uri, SubProtocol, _options, connectTimeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"Connecting to {Uri} took longer than {_options.ConnectTimeout}.", e);
            }
        }

        var connection = new Connection(transport, Interlocked.Increment(ref _generation), _options.MaxMessageSize, _options.MaxInFlight, _sweepPeriod, this);
        connection.Start();
        if (_options.SessionWaitTimeout > TimeSpan.Zero)
        {
            try
            {
                await connection.SessionReceived.WaitAsync(_options.SessionWaitTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // $session is optional for clients (PROTOCOL §5.1); carry on with the configured limits.
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // SessionReceived is cancelled when the connection dies; reported below.
            }
            catch
            {
                connection.Abort(null);
                throw;
            }
        }

        if (connection.IsClosed)
        {
            throw new ConnMsgConnectionLostException("The connection closed while it was being opened.", connection.CloseReason);
        }

        ConnMsgClientLog.Connected(_logger, Uri, connection.Generation, connection.Session?.Id);
        return connection;
    }

    /// <summary>
    /// Our own socket transport is faster, but it cannot read what <see cref="ConnMsgClientOptions.ConfigureWebSocket"/>
    /// sets (ClientWebSocketOptions exposes no getters for headers or subprotocols), and it does not speak to proxies;
    /// whenever one of those is in play, <see cref="ClientWebSocket"/> does the job.
    /// </summary>
    private bool UsesClientWebSocket()
    {
        if (_options.UseClientWebSocket || _options.ConfigureWebSocket is not null)
        {
            return true;
        }

        var http = new UriBuilder(Uri) { Scheme = Uri.Scheme == "wss" ? Uri.UriSchemeHttps : Uri.UriSchemeHttp }.Uri;
        var proxy = System.Net.Http.HttpClient.DefaultProxy;
        return !proxy.IsBypassed(http) && proxy.GetProxy(http) is { } through && through != http;
    }

    private async Task<Transport> ConnectClientWebSocketAsync(CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol(SubProtocol);
        socket.Options.KeepAliveInterval = _options.KeepAliveInterval;
        socket.Options.KeepAliveTimeout = _options.KeepAliveTimeout;
        _options.ConfigureWebSocket?.Invoke(socket.Options);
        try
        {
            if (_options.SocketSendBufferSize is { } sendBufferSize)
            {
                // Test hook only: the invoker stays alive with the connection it made.
                await socket.ConnectAsync(Uri, new HttpMessageInvoker(new SocketsHttpHandler
                {
                    UseProxy = false,
                    ConnectCallback = async (context, token) =>
                    {
                        var tcp = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true, SendBufferSize = sendBufferSize };
                        try
                        {
                            await tcp.ConnectAsync(context.DnsEndPoint, token).ConfigureAwait(false);
                            return new System.Net.Sockets.NetworkStream(tcp, ownsSocket: true);
                        }
                        catch
                        {
                            tcp.Dispose();
                            throw;
                        }
                    },
                }), cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await socket.ConnectAsync(Uri, cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        if (socket.SubProtocol is { } chosen && chosen != SubProtocol)
        {
            socket.Abort();
            socket.Dispose();
            throw new ConnMsgException($"The server selected subprotocol '{chosen}', not '{SubProtocol}'.");
        }

        return new ClientWebSocketTransport(socket, _options.MaxIncomingMessageSize, _options.MaxPendingSendBytes);
    }

    /// <summary>Publishes a connection to requests, unless it already died (its closing callback then found nothing to retract).</summary>
    private bool TryMakeCurrent(Connection connection)
    {
        lock (_stateLock)
        {
            if (connection.IsClosed || IsDisposed)
            {
                return false;
            }

            _current = connection;
            _open.TrySetResult(connection);
            return true;
        }
    }

    void IConnectionOwner.OnConnectionClosing(Connection connection)
    {
        // Synchronous, before the connection fails its pending requests: from now on requests wait for the next
        // connection instead of finding this dead one.
        lock (_stateLock)
        {
            if (_current == connection)
            {
                _current = null;
                if (_open.Task.IsCompleted && !_open.Task.IsFaulted)
                {
                    _open = NewOpenSource();
                }
            }
        }
    }

    /// <summary>Waits for the open connection; requests issued while reconnecting wait here (bounded by their timeout).</summary>
    private async ValueTask<Connection> WaitForOpenAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task<Connection> open;
            lock (_stateLock)
            {
                open = _open.Task;
            }

            var connection = await open.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (!connection.IsClosed)
            {
                return connection;
            }

            // It died an instant ago and its closing callback is swapping in a fresh source; look again.
            await Task.Yield();
        }
    }

    /// <summary>The reconnect loop: runs until disposal or until reconnecting is given up.</summary>
    private async Task RunAsync(Connection connection)
    {
        // Reconnect attempts since a connection last stayed open for ReconnectStableAfter: the backoff grows with all
        // of them, so a server that accepts and at once drops connections is not reconnected to at the shortest delay.
        int unstableAttempts = 0;
        long openedAt = Stopwatch.GetTimestamp();
        while (true)
        {
            // Both loops must have exited: the old receive loop must not touch topic state once the new one runs.
            await connection.Completion.ConfigureAwait(false);
            if (IsDisposed)
            {
                return;
            }

            if (Stopwatch.GetElapsedTime(openedAt) >= _options.ReconnectStableAfter)
            {
                unstableAttempts = 0;
            }

            var error = connection.CloseReason;
            ConnMsgClientLog.ConnectionLost(_logger, connection.Generation, error);
            if (!_options.Reconnect)
            {
                GoClosed(new ConnMsgConnectionLostException("The connection was lost and reconnecting is disabled.", error));
                return;
            }

            SetState(ConnMsgConnectionState.Reconnecting, error);
            var (next, attempts) = await ReconnectAsync(unstableAttempts).ConfigureAwait(false);
            if (next is null)
            {
                return;
            }

            unstableAttempts += attempts;
            openedAt = Stopwatch.GetTimestamp();
            connection = next;
        }
    }

    /// <summary>Reconnects after an outage; returns the new, published connection (null: given up or disposed) and the attempts it took.</summary>
    /// <param name="earlierAttempts">Attempts of earlier outages that still count towards the backoff.</param>
    private async Task<(Connection? Connection, int Attempts)> ReconnectAsync(int earlierAttempts)
    {
        var token = _disposing.Token;
        for (int attempt = 1; ; attempt++)
        {
            if (_options.ReconnectMaxAttempts is { } max && attempt > max)
            {
                ConnMsgClientLog.ReconnectGaveUp(_logger, max);
                GoClosed(new ConnMsgConnectionLostException($"The connection was lost and {max} reconnect attempts failed."));
                return (null, attempt - 1);
            }

            Connection? next = null;
            try
            {
                var delay = Backoff(earlierAttempts + attempt);
                ConnMsgClientLog.ReconnectScheduled(_logger, attempt, delay);
                await Task.Delay(delay, token).ConfigureAwait(false);
                if (_options.BeforeReconnectAttempt is { } hook)
                {
                    await hook(attempt, token).ConfigureAwait(false);
                }

                next = await OpenConnectionAsync(token).ConfigureAwait(false);
                await ResubscribeAllAsync(next, token).ConfigureAwait(false);
                if (TryMakeCurrent(next))
                {
                    SetState(ConnMsgConnectionState.Open, null);
                    return (next, attempt);
                }

                if (IsDisposed)
                {
                    next.Abort(null);
                    return (null, attempt);
                }
            }
            catch (Exception) when (IsDisposed)
            {
                next?.Abort(null);
                return (null, attempt);
            }
            catch (Exception e)
            {
                ConnMsgClientLog.ReconnectFailed(_logger, attempt, e);
                next?.Abort(e);
            }

            if (next is not null)
            {
                await next.Completion.ConfigureAwait(false);
            }
        }
    }

    /// <summary>Exponential backoff with "equal jitter": half fixed, half random, so a fleet dropped at once does not return at once.</summary>
    private TimeSpan Backoff(int attempt)
    {
        double initial = _options.ReconnectInitialDelay.TotalMilliseconds;
        double cap = _options.ReconnectMaxDelay.TotalMilliseconds;
        double exponential = Math.Min(cap, initial * Math.Pow(2, Math.Min(attempt - 1, 30)));
        return TimeSpan.FromMilliseconds((exponential / 2) + (Random.Shared.NextDouble() * exponential / 2));
    }

    private void GoClosed(Exception error)
    {
        lock (_stateLock)
        {
            _current = null;
            FailOpenLocked(error);
        }

        SetState(ConnMsgConnectionState.Closed, error);
        CompleteAllSubscriptions();
    }
}
