using System.Buffers;
using System.IO.Pipelines;

namespace ConnMsg.Bench.Infrastructure;

/// <summary>
/// A duplex <see cref="Stream"/> over one end of an in-memory pipe pair, for <c>WebSocket.CreateFromStream</c>.
/// Reads and writes complete synchronously whenever the pipe allows, so on inline pipes a round trip never leaves
/// the benchmark thread and allocates nothing of its own.
/// </summary>
internal sealed class PipeStream : Stream
{
    private readonly PipeReader _reader;
    private readonly PipeWriter _writer;

    public PipeStream(DuplexPipe pipe)
    {
        _reader = pipe.Input;
        _writer = pipe.Output;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_reader.TryRead(out ReadResult result))
        {
            if (!result.Buffer.IsEmpty || result.IsCompleted)
            {
                return new ValueTask<int>(Consume(result, buffer.Span));
            }

            _reader.AdvanceTo(result.Buffer.Start);
        }

        return ReadSlowAsync(buffer, cancellationToken);
    }

    private async ValueTask<int> ReadSlowAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            ReadResult result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (!result.Buffer.IsEmpty || result.IsCompleted)
            {
                return Consume(result, buffer.Span);
            }

            _reader.AdvanceTo(result.Buffer.Start);
        }
    }

    private int Consume(in ReadResult result, Span<byte> destination)
    {
        ReadOnlySequence<byte> source = result.Buffer;
        int n = (int)Math.Min(source.Length, destination.Length);
        source.Slice(0, n).CopyTo(destination);
        _reader.AdvanceTo(source.GetPosition(n));
        return n;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        _writer.Write(buffer.Span);
        ValueTask<FlushResult> flush = _writer.FlushAsync(cancellationToken);
        return flush.IsCompletedSuccessfully ? default : AwaitFlushAsync(flush);
    }

    private static async ValueTask AwaitFlushAsync(ValueTask<FlushResult> flush) => await flush.ConfigureAwait(false);

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _reader.Complete();
            _writer.Complete();
        }

        base.Dispose(disposing);
    }
}
