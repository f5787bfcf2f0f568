using System.Net;
using System.Net.Sockets;
using ConnMsg.Diagnostics;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ConnMsg.Transport;

/// <summary>A bound, listening TCP socket that Kestrel's accept loop draws <see cref="SocketConnection"/>s from.</summary>
internal sealed class SocketListener : IConnectionListener
{
    private const int AcceptRetryDelayMs = 50;

    private readonly Socket _listenSocket;
    private readonly ConnMsgTransportOptions _options;
    private readonly ILogger _logger;

    private SocketListener(Socket listenSocket, EndPoint endPoint, ConnMsgTransportOptions options, ILogger logger)
    {
        _listenSocket = listenSocket;
        EndPoint = endPoint;
        _options = options;
        _logger = logger;
    }

    /// <inheritdoc />
    public EndPoint EndPoint { get; }

    /// <summary>Binds and listens; the end point reported is the bound one (port 0 becomes the port chosen).</summary>
    public static SocketListener Bind(IPEndPoint endPoint, ConnMsgTransportOptions options, ILogger? logger = null)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endPoint.Address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            socket.Bind(endPoint);
            socket.Listen(options.Backlog);
            return new SocketListener(socket, socket.LocalEndPoint!, options, logger ?? NullLogger.Instance);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            socket.Dispose();
            // Kestrel tells this case apart (it falls back from "localhost" on IPv6 to IPv4).
            throw new AddressInUseException(e.Message, e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Socket accepted;
            try
            {
                accepted = await _listenSocket.AcceptAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                return null;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.OperationAborted)
            {
                return null;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
            {
                // Reset while it waited in the backlog: take the next one.
                continue;
            }
            catch (SocketException e)
            {
                // Out of descriptors or buffers: the connection stays in the backlog and the next accept would fail at
                // once, so trying again straight away spins a core. Wait a little; descriptors free up as others close.
                TransportLog.AcceptFailed(_logger, e.SocketErrorCode, AcceptRetryDelayMs, e);
                await Task.Delay(AcceptRetryDelayMs, cancellationToken).ConfigureAwait(false);
                continue;
            }

            try
            {
                accepted.NoDelay = _options.NoDelay;
                // Receives are non-blocking attempts made once the socket reports readable (see SocketInput).
                accepted.Blocking = false;
            }
            catch (SocketException)
            {
                accepted.Dispose();
                continue;
            }

            return new SocketConnection(accepted, _options.MaxReadBufferSize, _logger);
        }
    }

    /// <inheritdoc />
    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        _listenSocket.Dispose();
        return default;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _listenSocket.Dispose();
        return default;
    }
}
