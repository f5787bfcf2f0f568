using System.Buffers;
using System.IO.Pipelines;

namespace ConnMsg.Tests.Transport;

/// <summary>
/// A <see cref="PipeReader"/> fed by the test with chosen segment boundaries, so the connection under test sees
/// exactly the segmentation the test wants (a real <see cref="Pipe"/> coalesces small writes into one segment).
/// It also tells the test when the reader has examined everything and waits, so "byte by byte" really shows every prefix.
/// </summary>
/// <remarks>Thread-safe between one writer (the test) and one reader (the connection).</remarks>
public sealed class SegmentedPipeReader : PipeReader
{
    private readonly object _gate = new();
    private Segments.Segment? _head;     // first unconsumed segment
    private int _headIndex;              // unconsumed start within _head
    private Segments.Segment? _tail;
    private long _examinedEnd;           // running index up to which the reader has examined
    private long _writtenEnd;            // running index of the end of data
    private bool _writerCompleted;
    private bool _readerCompleted;
    private bool _cancelPending;
    private TaskCompletionSource<bool>? _dataAvailable;
    private TaskCompletionSource _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _reading;

    /// <summary>Arrays handed to the reader, so a test can prove a message was delivered where it lay.</summary>
    public List<byte[]> Arrays { get; } = new();

    /// <summary>Reads that returned data to the reader; byte-by-byte feeding must show one per byte.</summary>
    public int DataReads;

    public bool ReaderCompleted
    {
        get { lock (_gate) return _readerCompleted; }
    }

    /// <summary>Appends one segment (or one per byte) and wakes the reader.</summary>
    public void Append(byte[] data, bool onePerByte = false)
    {
        if (data.Length == 0)
        {
            return;
        }

        TaskCompletionSource<bool>? wake;
        lock (_gate)
        {
            if (onePerByte)
            {
                for (int i = 0; i < data.Length; i++)
                {
                    AddSegment([data[i]]);
                }
            }
            else
            {
                AddSegment(data);
            }

            wake = _dataAvailable;
            _dataAvailable = null;
        }

        wake?.TrySetResult(true);
    }

    /// <summary>Feeds <paramref name="data"/> the way <paramref name="feed"/> says; for <see cref="Feed.ByteByByte"/> waits for the reader between bytes.</summary>
    public async Task FeedAsync(byte[] data, Feed feed, TimeSpan? timeout = null)
    {
        switch (feed)
        {
            case Feed.Whole:
                Append(data);
                break;
            case Feed.SegmentPerByte:
                Append(data, onePerByte: true);
                break;
            default:
                foreach (byte b in data)
                {
                    Append([b]);
                    if (!await WaitIdleAsync(timeout ?? TimeSpan.FromSeconds(5)))
                    {
                        return; // the reader stopped: the rest would never be read
                    }
                }

                break;
        }
    }

    /// <summary>Waits until the reader has examined all data and waits for more (true) or has completed (false).</summary>
    public async Task<bool> WaitIdleAsync(TimeSpan timeout)
    {
        Task idle;
        lock (_gate)
        {
            if (_readerCompleted)
            {
                return false;
            }

            if (_reading && _examinedEnd >= _writtenEnd)
            {
                return true;
            }

            if (_idle.Task.IsCompleted)
            {
                _idle = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            idle = _idle.Task;
        }

        await idle.WaitAsync(timeout);
        lock (_gate)
        {
            return !_readerCompleted;
        }
    }

    /// <summary>The peer half-closes: the reader sees IsCompleted once it has read everything.</summary>
    public void CompleteWriter()
    {
        TaskCompletionSource<bool>? wake;
        lock (_gate)
        {
            _writerCompleted = true;
            wake = _dataAvailable;
            _dataAvailable = null;
        }

        wake?.TrySetResult(true);
    }

    private void AddSegment(byte[] array)
    {
        Arrays.Add(array);
        if (_tail is null)
        {
            _head = _tail = new Segments.Segment(array, _writtenEnd);
            _headIndex = 0;
        }
        else
        {
            _tail = _tail.Append(array);
        }

        _writtenEnd += array.Length;
    }

    public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Task<bool> wait;
            TaskCompletionSource? idle = null;
            lock (_gate)
            {
                if (_readerCompleted)
                {
                    throw new InvalidOperationException("Reading after Complete.");
                }

                if (_cancelPending)
                {
                    _cancelPending = false;
                    return new ReadResult(Buffer(), isCanceled: true, isCompleted: _writerCompleted && _examinedEnd >= _writtenEnd);
                }

                if (_examinedEnd < _writtenEnd || _writerCompleted)
                {
                    DataReads++;
                    _reading = false;
                    return new ReadResult(Buffer(), isCanceled: false, isCompleted: _writerCompleted);
                }

                _dataAvailable ??= new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _dataAvailable.Task;
                _reading = true;
                idle = _idle;
            }

            idle.TrySetResult();
            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public override bool TryRead(out ReadResult result)
    {
        lock (_gate)
        {
            if (_examinedEnd < _writtenEnd || _writerCompleted || _cancelPending)
            {
                bool canceled = _cancelPending;
                _cancelPending = false;
                result = new ReadResult(Buffer(), canceled, _writerCompleted);
                return true;
            }
        }

        result = default;
        return false;
    }

    private ReadOnlySequence<byte> Buffer()
    {
        if (_head is null || _tail is null || _head.RunningIndex + _headIndex >= _writtenEnd)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        return new ReadOnlySequence<byte>(_head, _headIndex, _tail, _tail.Memory.Length);
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        lock (_gate)
        {
            if (consumed.GetObject() is Segments.Segment segment)
            {
                _head = segment;
                _headIndex = consumed.GetInteger();
                if (_headIndex == segment.Memory.Length && segment.Next is Segments.Segment next)
                {
                    _head = next;
                    _headIndex = 0;
                }
            }

            if (examined.GetObject() is Segments.Segment ex)
            {
                _examinedEnd = Math.Max(_examinedEnd, ex.RunningIndex + examined.GetInteger());
            }
        }
    }

    public override void CancelPendingRead()
    {
        TaskCompletionSource<bool>? wake;
        lock (_gate)
        {
            _cancelPending = true;
            wake = _dataAvailable;
            _dataAvailable = null;
        }

        wake?.TrySetResult(true);
    }

    public override void Complete(Exception? exception = null)
    {
        TaskCompletionSource idle;
        lock (_gate)
        {
            _readerCompleted = true;
            idle = _idle;
        }

        idle.TrySetResult();
    }
}
