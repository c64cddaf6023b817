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
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A single node's metadata store: an append-only file of committed batches, replayed on open.
 *
 * <p>File format ({@code metadata.log}): a sequence of frames, each {@code length int32 | crc32c int32 |
 * MetadataBatch protobuf bytes (length bytes)}, big-endian; the CRC covers the protobuf bytes. A torn or corrupt
 * final frame (a crash mid-write) is truncated on open. The offset of a record is its index in the whole log.
 *
 * <p>Threads: {@link #commit} may be called from any thread; commits are serialised under a lock, written and
 * fsynced before they are applied, and listeners run on the committing thread while the lock is held.
 */
public final class LocalMetadataStore implements MetadataStore {

    private static final Logger log = LoggerFactory.getLogger(LocalMetadataStore.class);
    private static final int FRAME_HEADER_BYTES = 8;
    private static final int MAX_FRAME_BYTES = 64 * 1024 * 1024;

    private final FileChannel channel;
    private final List<MetadataListener> listeners = new CopyOnWriteArrayList<>();
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
        store.replay();
        return store;
    }

    private void replay() throws IOException {
        long position = 0;
        long size = channel.size();
        ByteBuffer header = ByteBuffer.allocate(FRAME_HEADER_BYTES);
        while (position + FRAME_HEADER_BYTES <= size) {
            header.clear();
            channel.read(header, position);
            int length = header.getInt(0);
            int crc = header.getInt(4);
            if (length < 0 || length > MAX_FRAME_BYTES || position + FRAME_HEADER_BYTES + length > size) {
                break;
            }
            ByteBuffer body = ByteBuffer.allocate(length);
            channel.read(body, position + FRAME_HEADER_BYTES);
            body.flip();
            if (crc32c(body) != crc) {
                break;
            }
            applyBatch(MetadataBatch.parseFrom(body).getRecordsList());
            position += FRAME_HEADER_BYTES + length;
        }
        if (position < size) {
            log.warn("Truncating metadata log from {} to {} bytes: torn or corrupt final frame", size, position);
            channel.truncate(position);
            channel.force(true);
        }
        channel.position(position);
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
        MetadataImage previous = image;
        MetadataImage next = previous;
        for (MetadataRecord record : records) {
            next = next.apply(record, nextOffset++);
        }
        image = next;
        for (MetadataListener listener : listeners) {
            listener.onImage(previous, next);
        }
    }

    @Override
    public synchronized void addListener(MetadataListener listener) {
        listeners.add(listener);
        listener.onImage(MetadataImage.EMPTY, image);
    }

    @Override
    public synchronized void close() throws IOException {
        channel.close();
    }

    private static int crc32c(ByteBuffer bytes) {
        CRC32C crc = new CRC32C();
        crc.update(bytes.duplicate());
        return (int) crc.getValue();
    }
}
