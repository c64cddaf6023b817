package io.tributary.metadata;

import io.tributary.proto.metadata.MetadataBatch;
import io.tributary.proto.metadata.MetadataRecord;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A single node's metadata store: an append-only file of committed batches, replayed on open.
 *
 * <p>File format ({@code metadata.log}): a sequence of frames, each {@code length int32 | crc32c int32 |
 * MetadataBatch protobuf bytes (length bytes)}, big-endian; the CRC covers the protobuf bytes, and a frame's length
 * is in {@code 1..MAX_FRAME_BYTES}. The offset of a record is its index in the whole log.
 *
 * <p>On open, a bad frame (a length out of range or past the end, or a CRC mismatch) is a torn tail only if no valid
 * frame follows it anywhere in the file: a crash mid-write tears the last frame only, and that tail is truncated.
 * A bad frame with a valid frame after it is corruption in the middle of the log; truncating there would drop
 * committed metadata (and the node would then delete the data the lost records describe), so open fails instead
 * and leaves the file as it is.
 *
 * <p>Threads: {@link #commit} may be called from any thread; commits are serialised under a lock, written and
 * fsynced before they are applied; listeners get the images on the {@link MetadataPublisher}'s thread.
 */
public final class LocalMetadataStore implements MetadataStore {

    private static final Logger log = LoggerFactory.getLogger(LocalMetadataStore.class);
    private static final int FRAME_HEADER_BYTES = 8;
    private static final int MAX_FRAME_BYTES = 64 * 1024 * 1024;

    private final FileChannel channel;
    private final MetadataPublisher publisher = new MetadataPublisher(-1);
    private volatile MetadataImage image = MetadataImage.EMPTY;
    private long nextOffset;

    private LocalMetadataStore(FileChannel channel) {
        this.channel = channel;
    }

    /** Opens the store in {@code dir}, creating it if needed, and replays every committed batch. */
    public static LocalMetadataStore open(Path dir) throws IOException {
        Files.createDirectories(dir);
        FileChannel channel = FileChannel.open(dir.resolve("metadata.log"),
                StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        LocalMetadataStore store = new LocalMetadataStore(channel);
        try {
            store.replay(dir.resolve("metadata.log"));
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
        return store;
    }

    private void replay(Path file) throws IOException {
        long position = 0;
        long size = channel.size();
        ByteBuffer body;
        while ((body = frameAt(position, size)) != null) {
            applyBatch(MetadataBatch.parseFrom(body).getRecordsList());
            position += FRAME_HEADER_BYTES + body.limit();
        }
        if (position < size) {
            long next = nextValidFrame(position + 1, size);
            if (next >= 0) {
                throw new IOException(file + " is corrupt at byte " + position + ": valid frames follow at byte "
                        + next + "; refusing to start; restore it or remove the node's data dir");
            }
            log.warn("Truncating metadata log {} from {} to {} bytes: torn final frame (no valid frame follows)",
                    file, size, position);
            channel.truncate(position);
            channel.force(true);
        }
        channel.position(position);
    }

    /**
     * The body of the valid frame at {@code position} (read in full, its CRC checked), or null if the bytes there are
     * not a whole valid frame within the first {@code size} bytes.
     */
    private ByteBuffer frameAt(long position, long size) throws IOException {
        if (position + FRAME_HEADER_BYTES > size) {
            return null;
        }
        ByteBuffer header = ByteBuffer.allocate(FRAME_HEADER_BYTES);
        readFully(header, position);
        int length = header.getInt(0);
        if (length <= 0 || length > MAX_FRAME_BYTES || position + FRAME_HEADER_BYTES + length > size) {
            return null;
        }
        ByteBuffer body = ByteBuffer.allocate(length);
        readFully(body, position + FRAME_HEADER_BYTES);
        body.flip();
        return crc32c(body) == header.getInt(4) ? body : null;
    }

    /**
     * The first position from {@code from} where a valid frame starts, or -1. Byte by byte: after a bad frame its
     * length cannot be trusted. Only the CRC is checked against candidates whose length fits, so the scan of a torn
     * tail (at most one frame long) is cheap.
     */
    private long nextValidFrame(long from, long size) throws IOException {
        for (long q = from; q + FRAME_HEADER_BYTES < size; q++) {
            if (frameAt(q, size) != null) {
                return q;
            }
        }
        return -1;
    }

    private void readFully(ByteBuffer buffer, long position) throws IOException {
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, position + buffer.position()) < 0) {
                throw new IOException("metadata log ended at byte " + (position + buffer.position()) + " while read");
            }
        }
    }

    @Override
    public MetadataImage image() {
        return image;
    }

    @Override
    public synchronized CompletableFuture<MetadataImage> commit(List<MetadataRecord> records) {
        if (records.isEmpty()) {
            return CompletableFuture.completedFuture(image);
        }
        byte[] body = MetadataBatch.newBuilder().addAllRecords(records).build().toByteArray();
        ByteBuffer frame = ByteBuffer.allocate(FRAME_HEADER_BYTES + body.length);
        frame.putInt(body.length).putInt(crc32c(ByteBuffer.wrap(body))).put(body).flip();
        try {
            while (frame.hasRemaining()) {
                channel.write(frame);
            }
            channel.force(false);
        } catch (IOException e) {
            return CompletableFuture.failedFuture(new UncheckedIOException("cannot write the metadata log", e));
        }
        applyBatch(records);
        return CompletableFuture.completedFuture(image);
    }

    private void applyBatch(List<MetadataRecord> records) {
        MetadataImage next = image;
        for (MetadataRecord record : records) {
            next = next.apply(record, nextOffset++);
        }
        image = next;
        publisher.publish(next);
    }

    @Override
    public void addListener(MetadataListener listener) {
        publisher.addListener(listener);
    }

    @Override
    public synchronized void close() throws IOException {
        publisher.close();
        channel.close();
    }

    private static int crc32c(ByteBuffer bytes) {
        CRC32C crc = new CRC32C();
        crc.update(bytes.duplicate());
        return (int) crc.getValue();
    }
}
