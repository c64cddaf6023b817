package io.tributary.storage;

import static io.tributary.storage.TestBatches.batch;
import static io.tributary.storage.TestBatches.bytes;
import static io.tributary.storage.TestBatches.copyDir;
import static io.tributary.storage.TestBatches.logFile;
import static io.tributary.storage.TestBatches.parse;
import static io.tributary.storage.TestBatches.recordOffsets;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.stream.LongStream;

import org.apache.kafka.common.record.RecordBatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RecoveryTest {
    static final LogConfig CONFIG = new LogConfig(2048, 3_600_000, -1, -1, 1_048_588, 200, 4096);

    @TempDir
    Path tmp;
    Path dir;
    TestBatches.MutableClock clock = new TestBatches.MutableClock(1_000_000);
    PartitionLog log;

    @BeforeEach
    void open() throws IOException {
        dir = tmp.resolve("p-0");
        log = PartitionLog.open(dir, CONFIG, clock);
    }

    @AfterEach
    void close() throws IOException {
        log.close();
    }

    /** 50 batches of 3 records: offsets 0..149 over several segments. */
    private void fill() throws IOException {
        for (int i = 0; i < 50; i++) {
            log.append(batch(3, 1000 + i), 2);
        }
        assertThat(log.numberOfSegments()).isGreaterThan(3);
    }

    private Path lastLogFile(PartitionLog partitionLog) throws IOException {
        try (var files = Files.list(partitionLog.dir())) {
            return files.filter(f -> f.toString().endsWith(".log")).sorted().reduce((a, b) -> b).orElseThrow();
        }
    }

    @Test
    void keepsEverythingAfterACleanClose() throws IOException {
        fill();
        ByteBuffer before = log.read(0, Integer.MAX_VALUE, Long.MAX_VALUE).records();
        int segments = log.numberOfSegments();
        log.close();
        assertThat(dir.resolve(PartitionLog.CLEAN_SHUTDOWN_FILE)).exists();

        log = PartitionLog.open(dir, CONFIG, clock);

        assertThat(dir.resolve(PartitionLog.CLEAN_SHUTDOWN_FILE)).doesNotExist();
        assertThat(log.logEndOffset()).isEqualTo(150);
        assertThat(log.numberOfSegments()).isEqualTo(segments);
        assertThat(bytes(log.read(0, Integer.MAX_VALUE, Long.MAX_VALUE).records())).isEqualTo(bytes(before));
        assertThat(log.append(batch(1, 0), 2).firstOffset()).isEqualTo(150);
    }

    @Test
    void removesATornLastBatchAfterAnUncleanStop() throws IOException {
        // Given an open log whose directory is copied (a crash), the last segment cut 7 bytes into its last batch
        fill();
        int lastBatchSize = batch(3, 0).remaining();
        Path crashDir = copyDir(dir, tmp.resolve("crash"));
        Path last = crashDir.resolve(lastLogFile(log).getFileName());
        long fullSize = Files.size(last);
        try (FileChannel ch = FileChannel.open(last, StandardOpenOption.WRITE)) {
            ch.truncate(fullSize - lastBatchSize + 7);
        }

        // When it is reopened
        try (PartitionLog recovered = PartitionLog.open(crashDir, CONFIG, clock)) {
            // Then the torn batch is gone, the log ends after the last whole batch and appends continue there
            assertThat(Files.size(last)).isEqualTo(fullSize - lastBatchSize);
            assertThat(recovered.logEndOffset()).isEqualTo(147);
            ByteBuffer all = recovered.read(0, Integer.MAX_VALUE, Long.MAX_VALUE).records();
            assertThat(recordOffsets(all)).containsExactlyElementsOf(LongStream.range(0, 147).boxed().toList());
            assertThat(recovered.append(batch(2, 0), 3)).extracting(LogAppendResult::firstOffset).isEqualTo(147L);
            assertThat(recordOffsets(recovered.read(140, Integer.MAX_VALUE, Long.MAX_VALUE).records()))
                    .containsExactlyElementsOf(LongStream.range(138, 149).boxed().toList());
        }
    }

    @Test
    void truncatesAtACorruptByteInTheLastBatch() throws IOException {
        fill();
        int batchSize = batch(3, 0).remaining();
        Path crashDir = copyDir(dir, tmp.resolve("crash"));
        Path last = crashDir.resolve(lastLogFile(log).getFileName());
        long size = Files.size(last);
        try (FileChannel ch = FileChannel.open(last, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer one = ByteBuffer.allocate(1);
            long at = size - batchSize + 70; // inside the records of the last batch
            ch.read(one, at);
            one.put(0, (byte) (one.get(0) ^ 0x40)).rewind();
            ch.write(one, at);
        }

        try (PartitionLog recovered = PartitionLog.open(crashDir, CONFIG, clock)) {
            assertThat(Files.size(last)).isEqualTo(size - batchSize);
            assertThat(recovered.logEndOffset()).isEqualTo(147);
            parse(recovered.read(0, Integer.MAX_VALUE, Long.MAX_VALUE).records()); // every CRC valid
        }
    }

    @Test
    void aCorruptMiddleSegmentPastTheRecoveryPointDropsAllLaterSegments() throws IOException {
        // Given a crash copy of a log never flushed (recovery point at the last roll) whose first segment is torn
        fill();
        Path crashDir = copyDir(dir, tmp.resolve("crash"));
        Files.delete(crashDir.resolve(PartitionLog.RECOVERY_POINT_FILE)); // recovery point 0: rescan everything
        Path first = logFile(crashDir, 0);
        long firstSize = Files.size(first);
        try (FileChannel ch = FileChannel.open(first, StandardOpenOption.WRITE)) {
            ch.truncate(firstSize - 3);
        }

        try (PartitionLog recovered = PartitionLog.open(crashDir, CONFIG, clock)) {
            assertThat(recovered.numberOfSegments()).isEqualTo(1);
            long end = recovered.logEndOffset();
            assertThat(end).isPositive().isEqualTo(recordOffsets(
                    recovered.read(0, Integer.MAX_VALUE, Long.MAX_VALUE).records()).size());
            assertThat(recovered.append(batch(1, 0), 2).firstOffset()).isEqualTo(end);
        }
    }

    @Test
    void rebuildsADeletedIndexFile() throws IOException {
        fill();
        log.close();
        Path index = dir.resolve(LogSegment.fileName(0, LogSegment.INDEX_SUFFIX));
        byte[] original = Files.readAllBytes(index);
        assertThat(original).isNotEmpty();
        Files.delete(index);

        log = PartitionLog.open(dir, CONFIG, clock);

        assertThat(index).exists();
        assertThat(Files.readAllBytes(index)).isEqualTo(original);
        for (long offset = 0; offset < 150; offset += 5) {
            assertThat(parse(log.read(offset, 1, Long.MAX_VALUE).records()).get(0).baseOffset())
                    .isEqualTo(offset / 3 * 3);
        }
    }

    @Test
    void rebuildsAGarbledIndexFileOfATrustedSegment() throws IOException {
        fill();
        log.close();
        Path index = dir.resolve(LogSegment.fileName(0, LogSegment.INDEX_SUFFIX));
        byte[] original = Files.readAllBytes(index);
        Files.write(index, new byte[] {0, 0, 0, 9, 0x7f, 0, 0, 0}); // points past the end of the log

        log = PartitionLog.open(dir, CONFIG, clock);

        assertThat(Files.readAllBytes(index)).isEqualTo(original);
        assertThat(log.logEndOffset()).isEqualTo(150);
    }

    @Test
    void flushMovesTheRecoveryPointSoOnlyTheTailIsRescanned() throws IOException {
        fill();
        log.flush();
        assertThat(Checkpoint.read(dir.resolve(PartitionLog.RECOVERY_POINT_FILE), -1)).isEqualTo(150);
        log.append(batch(3, 0), 2);

        try (PartitionLog recovered = PartitionLog.open(copyDir(dir, tmp.resolve("crash")), CONFIG, clock)) {
            assertThat(recovered.logEndOffset()).isEqualTo(153);
            assertThat(parse(recovered.read(150, 1000, Long.MAX_VALUE).records()))
                    .extracting(RecordBatch::baseOffset).containsExactly(150L);
        }
    }
}
