using ConnMsg.Load;

// Socket completions run inline on the epoll thread unless the user chose otherwise: pinned to one core, the
// hand-off of every receive to a thread-pool thread nearly doubled the driver's CPU per message. The variable is
// read when the socket engine first starts, which is after this line.
if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
{
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
}

// Subcommands: reqcfm, fanout, connect, soak, signalr (one scenario against a running server) and bench
// (build, start each server pinned, run the standard set, write the combined report). See load/README.md.
return await Commands.RunAsync(args);
