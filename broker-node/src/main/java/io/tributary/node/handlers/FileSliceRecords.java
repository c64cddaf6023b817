package io.tributary.node.handlers;

import io.tributary.storage.FileSlice;
import io.tributary.storage.FileSlices;
import java.io.IOException;
import org.apache.kafka.common.network.TransferableChannel;
import org.apache.kafka.common.record.BaseRecords;
import org.apache.kafka.common.record.RecordsSend;

/**
 * A fetch response's records as a slice of a segment file (Kafka's {@code FileRecords} role): framing the response
 * hands the channel the file range ({@link TransferableChannel#transferFrom}), which the connection sends with
 * sendfile, so the record bytes are never copied into the heap. The slice's handle is closed by
 * {@link #release} (a response that is not sent) or once the connection has written it.
 */
public final class FileSliceRecords implements BaseRecords {
    private final FileSlice slice;
    private final FileSlices slices;

    FileSliceRecords(FileSlice slice, FileSlices slices) {
        this.slice = slice;
        this.slices = slices;
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
                return (int) channel.transferFrom(slice.channel(), slice.position() + (long) previouslyWritten,
                        remaining);
            }
        };
    }

    /** Closes the slice's handle if {@code records} is a slice (idempotent); other records hold none. */
    public static void release(BaseRecords records) {
        if (records instanceof FileSliceRecords file) {
            file.slices.close(file.slice.channel());
        }
    }

    @Override
    public String toString() {
        return "FileSliceRecords(position=" + slice.position() + ", size=" + slice.size() + ")";
    }
}
