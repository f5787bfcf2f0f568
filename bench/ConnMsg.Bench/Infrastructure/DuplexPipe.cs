using System.IO.Pipelines;

namespace ConnMsg.Bench.Infrastructure;

/// <summary>One end of an in-memory connection: what it reads and what it writes.</summary>
internal sealed class DuplexPipe : IDuplexPipe
{
    public DuplexPipe(PipeReader input, PipeWriter output)
    {
        Input = input;
        Output = output;
    }

    public PipeReader Input { get; }

    public PipeWriter Output { get; }

    /// <summary>
    /// Two pipes crossed over, as Kestrel's transport and application sides are: what the application writes the
    /// transport reads, and the other way round.
    /// </summary>
    public static (DuplexPipe Transport, DuplexPipe Application) CreatePair(PipeOptions options)
    {
        var toServer = new Pipe(options);
        var toClient = new Pipe(options);
        return (new DuplexPipe(toServer.Reader, toClient.Writer), new DuplexPipe(toClient.Reader, toServer.Writer));
    }

    /// <summary>
    /// Continuations run on the thread that completes the flush or read, so a client write drives the server's read
    /// loop to completion on the benchmark thread: no thread hop in the measurement.
    /// </summary>
    public static PipeOptions Inline { get; } = new(
        pool: BlockMemoryPool.Instance,
        readerScheduler: PipeScheduler.Inline,
        writerScheduler: PipeScheduler.Inline,
        useSynchronizationContext: false);

    /// <summary>Pipes as Kestrel's defaults would schedule them (continuations on the thread pool).</summary>
    public static PipeOptions ThreadPool { get; } = new(pool: BlockMemoryPool.Instance, useSynchronizationContext: false);
}
