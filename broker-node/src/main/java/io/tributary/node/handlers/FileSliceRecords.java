package io.tributary.node.handlers;

import io.tributary.storage.FileSlice;
import java.io.IOException;
import org.apache.kafka.common.network.TransferableChannel;
import org.apache.kafka.common.record.BaseRecords;
import org.apache.kafka.common.record.RecordsSend;

/**
 * A fetch response's records as a slice of a segment file (Kafka's {@code FileRecords} role): framing the response
 * hands a {@link Sink} the slice itself (any other channel gets the file range through
 * {@link TransferableChannel#transferFrom}), which the connection sends with sendfile, so the record bytes are never
 * copied into the heap. The slice is released by {@link #release} (a response that is not sent) or once the
 * connection has written it.
 */
public final class FileSliceRecords implements BaseRecords {
    /** A channel that takes a slice whole, and releases it once sent or dropped. */
    public interface Sink {
        void add(FileSlice slice, long offset, long count);
    }

    private final FileSlice slice;

    FileSliceRecords(FileSlice slice) {
        this.slice = slice;
    }

    @Override
    public int sizeInBytes() {
        return slice.size();
    }

    @Override
    public RecordsSend<FileSliceRecords> toSend() {
        return new RecordsSend<>(this, slice.size()) {
            @Override
            protected int writeTo(TransferableChannel channel, int previouslyWritten, int remaining)
                    throws IOException {
                if (channel instanceof Sink sink) {
                    sink.add(slice, previouslyWritten, remaining);
                    return remaining;
                }
                return (int) channel.transferFrom(slice.channel(), slice.position() + (long) previouslyWritten,
                        remaining);
            }
        };
    }

    /** Releases the slice if {@code records} is one (idempotent); other records hold none. */
    public static void release(BaseRecords records) {
        if (records instanceof FileSliceRecords file) {
            file.slice.release();
        }
    }

    @Override
    public String toString() {
        return "FileSliceRecords(position=" + slice.position() + ", size=" + slice.size() + ")";
    }
}
