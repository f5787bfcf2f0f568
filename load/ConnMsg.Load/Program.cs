using ConnMsg.Load;

// Subcommands: reqcfm, fanout, connect, soak, signalr (one scenario against a running server) and bench
// (build, start each server pinned, run the standard set, write the combined report). See load/README.md.
return await Commands.RunAsync(args);
