package io.tributary.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.Record;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.record.SimpleRecord;

/** Builds RecordBatch v2 bytes with kafka-clients (the oracle) and offers small file helpers for log tests. */
final class TestBatches {

    static final LogConfig SMALL = new LogConfig(4096, 3_600_000, -1, -1, 1_048_588, 256, 4096);

    private TestBatches() {
    }

    /** One uncompressed batch of {@code count} records with timestamps {@code ts, ts+1, ...}. */
    static ByteBuffer batch(int count, long timestamp) {
        return batch(Compression.NONE, count, timestamp, 10);
    }

    static ByteBuffer batch(Compression compression, int count, long timestamp, int valueBytes) {
        return MemoryRecords.withRecords(compression, records(count, timestamp, valueBytes)).buffer();
    }

    static ByteBuffer idempotentBatch(long producerId, short epoch, int baseSequence, int count) {
        return idempotentBatch(producerId, epoch, baseSequence, count, 1000);
    }

    /** An idempotent producer's batch whose records have timestamps {@code ts, ts+1, ...}. */
    static ByteBuffer idempotentBatch(long producerId, short epoch, int baseSequence, int count, long timestamp) {
        return MemoryRecords.withIdempotentRecords(Compression.NONE, producerId, epoch, baseSequence,
                records(count, timestamp, 10)).buffer();
    }

    /** Removes the last {@code bytes} bytes of {@code file}, as a torn write leaves it. */
    static void chopTail(Path file, long bytes) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - bytes);
        }
    }

    /** Offsets of the {@code .snapshot} files in {@code dir}, ascending. */
    static List<Long> snapshotOffsets(Path dir) throws IOException {
        return new ArrayList<>(ProducerSnapshots.list(dir).offsets());
    }

    /** Deletes every {@code .snapshot} file of {@code dir}: its next open replays every batch header. */
    static void deleteSnapshots(Path dir) throws IOException {
        for (long offset : snapshotOffsets(dir)) {
            Files.delete(ProducerSnapshots.file(dir, offset));
        }
    }

    static SimpleRecord[] records(int count, long timestamp, int valueBytes) {
        SimpleRecord[] records = new SimpleRecord[count];
        for (int i = 0; i < count; i++) {
            byte[] value = new byte[valueBytes];
            byte[] text = ("value-" + i).getBytes(StandardCharsets.UTF_8);
            System.arraycopy(text, 0, value, 0, Math.min(text.length, valueBytes));
            records[i] = new SimpleRecord(timestamp + i, ("key-" + i).getBytes(StandardCharsets.UTF_8), value);
        }
        return records;
    }

    /** Concatenates buffers (position to limit of each) into a new one. */
    static ByteBuffer concat(ByteBuffer... buffers) {
        int size = 0;
        for (ByteBuffer b : buffers) {
            size += b.remaining();
        }
        ByteBuffer out = ByteBuffer.allocate(size);
        for (ByteBuffer b : buffers) {
            out.put(b.duplicate());
        }
        return out.flip();
    }

    static byte[] bytes(ByteBuffer buffer) {
        byte[] out = new byte[buffer.remaining()];
        buffer.duplicate().get(out);
        return out;
    }

    /** Parses stored bytes with kafka-clients, checking every batch's CRC. */
    static List<RecordBatch> parse(ByteBuffer stored) {
        List<RecordBatch> out = new ArrayList<>();
        for (RecordBatch batch : MemoryRecords.readableRecords(stored.duplicate()).batches()) {
            batch.ensureValid();
            out.add(batch);
        }
        return out;
    }

    /** Offsets of every record in the stored bytes, in order. */
    static List<Long> recordOffsets(ByteBuffer stored) {
        List<Long> offsets = new ArrayList<>();
        for (RecordBatch batch : parse(stored)) {
            for (Record record : batch) {
                offsets.add(record.offset());
            }
        }
        return offsets;
    }

    static Path logFile(Path dir, long baseOffset) {
        return dir.resolve(LogSegment.fileName(baseOffset, LogSegment.LOG_SUFFIX));
    }

    /** Copies a directory's files, as a crash would leave them (the source log stays open). */
    static Path copyDir(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path file : files.toList()) {
                Files.copy(file, to.resolve(file.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        return to;
    }

    /** A clock the test moves by hand. */
    static final class MutableClock extends Clock {
        private volatile long nowMs;

        MutableClock(long nowMs) {
            this.nowMs = nowMs;
        }

        void advance(long ms) {
            nowMs += ms;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public long millis() {
            return nowMs;
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(nowMs);
        }
    }
}
