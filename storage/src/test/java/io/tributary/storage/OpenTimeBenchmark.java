package io.tributary.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Arrays;
import java.util.Locale;

import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.SimpleRecord;

/**
 * A benchmark, not a test (surefire does not run it; {@code bench/producer-state-open.sh} does): how long
 * {@link PartitionLog#open} takes on a large log of idempotent batches, with producer snapshots (a clean restart reads
 * no batch header) and without them (every header of every segment is read to rebuild the producer state). Each
 * command runs in a fresh JVM, as a restarted node would.
 *
 * <pre>
 * OpenTimeBenchmark write DIR BYTES   appends idempotent batches (1,000 producer ids, 100 records of 100 bytes each,
 *                                     about 11 KiB, 128 MiB segments) until the log holds BYTES, then closes it
 * OpenTimeBenchmark open DIR          times one open, prints it with the batch headers it read, then closes
 * </pre>
 */
public final class OpenTimeBenchmark {
    static final int PRODUCERS = 1_000;
    static final int RECORDS_PER_BATCH = 100;
    static final int VALUE_BYTES = 100;
    static final LogConfig CONFIG = new LogConfig(128L << 20, LogConfig.DEFAULTS.segmentMs(), -1, -1,
            LogConfig.DEFAULTS.maxMessageBytes(), LogConfig.DEFAULTS.indexIntervalBytes(),
            LogConfig.DEFAULTS.segmentIndexBytes());

    private OpenTimeBenchmark() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length == 3 && args[0].equals("write")) {
            write(Path.of(args[1]), Long.parseLong(args[2]));
        } else if (args.length == 2 && args[0].equals("open")) {
            open(Path.of(args[1]));
        } else {
            System.err.println("usage: OpenTimeBenchmark write DIR BYTES | open DIR");
            System.exit(2);
        }
    }

    private static void write(Path dir, long bytes) throws IOException {
        long startNs = System.nanoTime();
        int[] sequences = new int[PRODUCERS];
        byte[] value = new byte[VALUE_BYTES];
        Arrays.fill(value, (byte) 'x');
        long batches = 0;
        try (PartitionLog log = PartitionLog.open(dir, CONFIG, Clock.systemUTC())) {
            while (log.sizeInBytes() < bytes) {
                int producer = (int) (batches % PRODUCERS);
                SimpleRecord[] records = new SimpleRecord[RECORDS_PER_BATCH];
                long now = System.currentTimeMillis();
                for (int i = 0; i < RECORDS_PER_BATCH; i++) {
                    records[i] = new SimpleRecord(now, null, value);
                }
                ByteBuffer batch = MemoryRecords.withIdempotentRecords(Compression.NONE, producer, (short) 0,
                        sequences[producer], records).buffer();
                log.append(batch, 0);
                sequences[producer] += RECORDS_PER_BATCH;
                batches++;
            }
            System.out.printf(Locale.ROOT, "wrote bytes=%d batches=%d segments=%d producers=%d seconds=%.1f%n",
                    log.sizeInBytes(), batches, log.numberOfSegments(), log.producerState().producerCount(),
                    (System.nanoTime() - startNs) / 1e9);
        }
    }

    private static void open(Path dir) throws IOException {
        int snapshots = ProducerSnapshots.list(dir).offsets().size();
        long startNs = System.nanoTime();
        try (PartitionLog log = PartitionLog.open(dir, CONFIG, Clock.systemUTC())) {
            long elapsedNs = System.nanoTime() - startNs;
            System.out.printf(Locale.ROOT, "open ms=%.0f snapshotsBefore=%d batchHeadersRead=%d producers=%d "
                    + "logEndOffset=%d segments=%d%n", elapsedNs / 1e6, snapshots, log.headersReadAtOpen(),
                    log.producerState().producerCount(), log.logEndOffset(), log.numberOfSegments());
        }
    }
}
