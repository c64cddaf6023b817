package io.tributary.storage;

import static io.tributary.storage.TestBatches.batch;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.MemoryRecords;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A write, truncation or fsync that fails leaves the log's files in an unknown state, so the log tells its disk
 * failure handler (a broker halts, as Kafka does when its last log directory goes offline) as well as throwing.
 * Validation errors, interrupted threads and closed logs are no disk failures. The failures are real I/O errors of
 * the file system: a directory where the log must write a file, or the segment's file closed under the log.
 */
class DiskFailureTest {
    private static final LogConfig CONFIG = new LogConfig(1 << 20, 3_600_000, -1, -1, 1_048_588, 100, 4096);
    /** 2 KB segments: a batch of 3 records is ~100 bytes, so about 20 batches per segment. */
    private static final LogConfig SMALL_SEGMENTS = new LogConfig(2048, 3_600_000, -1, -1, 1_048_588, 200, 4096);

    @TempDir
    Path dir;
    private final TestBatches.MutableClock clock = new TestBatches.MutableClock(1_000_000);
    private final List<IOException> reported = new ArrayList<>();
    private PartitionLog log;

    @BeforeEach
    void open() throws IOException {
        log = PartitionLog.open(dir.resolve("p-0"), CONFIG, clock);
        log.setDiskFailureHandler(reported::add);
        for (int i = 0; i < 5; i++) {
            log.append(batch(2, 1000 + i), 0); // offsets 0..9
        }
    }

    @AfterEach
    void close() {
        try {
            log.close();
        } catch (IOException | RuntimeException e) {
            // a test broke the log's files on purpose
        }
    }

    /** The recovery point is replaced through a temporary sibling: a directory in its place fails the write. */
    private static void breakRecoveryPointWrites(Path logDir) throws IOException {
        Files.createDirectory(logDir.resolve(PartitionLog.RECOVERY_POINT_FILE + DiskIo.TMP_SUFFIX));
    }

    @Test
    void aRollFlushThatFailsOnTheMaintenanceThreadIsReported() throws Exception {
        List<Runnable> queued = new ArrayList<>();
        Path rollDir = dir.resolve("rolling-0");
        try (PartitionLog rolling = PartitionLog.open(rollDir, SMALL_SEGMENTS, clock)) {
            rolling.setFlushExecutor(queued::add);
            rolling.setDiskFailureHandler(reported::add);
            int i = 0;
            while (rolling.numberOfSegments() < 2) {
                rolling.append(batch(3, 5000 + i++), 0);
            }
            assertThat(queued).hasSize(1);
            breakRecoveryPointWrites(rollDir);

            queued.remove(0).run(); // the roll flush only logs its failure: nobody waits for it

            assertThat(reported).as("the failure reaches the handler all the same").hasSize(1);
            assertThat(Checkpoint.read(rollDir.resolve(PartitionLog.RECOVERY_POINT_FILE), -1)).isLessThanOrEqualTo(0);
            Files.delete(rollDir.resolve(PartitionLog.RECOVERY_POINT_FILE + DiskIo.TMP_SUFFIX)); // so that it closes
        }
    }

    @Test
    void anAppendWhoseWriteFailsIsReported() throws Exception {
        log.planFlush(true).active().close(); // the active segment's file, closed under the log

        assertThatThrownBy(() -> log.append(batch(2, 2000), 0)).isInstanceOf(IOException.class);
        assertThatThrownBy(() -> log.appendAsFollower(followerBatchAt(log.logEndOffset())))
                .isInstanceOf(IOException.class);

        assertThat(reported).hasSize(2);
    }

    @Test
    void aTransactionMarkerWhoseWriteFailsIsReported() throws Exception {
        log.append(MemoryRecords.withTransactionalRecords(Compression.NONE, 7, (short) 0, 0,
                TestBatches.records(2, clock.millis(), 10)).buffer(), 0);
        log.planFlush(true).active().close();

        assertThatThrownBy(() -> log.appendTransactionMarker(7, (short) 0, 0, false, 0))
                .isInstanceOf(IOException.class);

        assertThat(reported).hasSize(1);
    }

    @Test
    void aFullTruncationThatFailsIsReported() throws Exception {
        breakRecoveryPointWrites(log.dir());

        assertThatThrownBy(() -> log.truncateFullyAndStartAt(100)).isInstanceOf(IOException.class);

        assertThat(reported).hasSize(1);
    }

    @Test
    void aFailedLogFlushesNothingMoreAndClosesWithoutTheCleanShutdownMarker() throws Exception {
        Path checkpoint = log.dir().resolve(PartitionLog.RECOVERY_POINT_FILE);
        long onDisk = Checkpoint.read(checkpoint, -1);
        breakRecoveryPointWrites(log.dir());
        assertThatThrownBy(log::flush).isInstanceOf(IOException.class);
        assertThat(reported).hasSize(1);
        // The disk works again: an fsync now would succeed, but proves nothing about what the failed one lost
        Files.delete(log.dir().resolve(PartitionLog.RECOVERY_POINT_FILE + DiskIo.TMP_SUFFIX));
        log.append(batch(2, 2000), 0);

        assertThatThrownBy(log::flush).as("no flush after a failed one").isInstanceOf(IOException.class);
        log.close();

        assertThat(log.dir().resolve(PartitionLog.CLEAN_SHUTDOWN_FILE)).as("the next open recovers the log")
                .doesNotExist();
        assertThat(Checkpoint.read(checkpoint, -1)).as("the recovery point on disk").isEqualTo(onDisk);
        assertThat(reported).as("reported once").hasSize(1);
    }

    @Test
    void aCloseThatFailsIsReportedAndClosesTheLogUnclean() throws Exception {
        log.append(batch(2, 2000), 0);
        breakRecoveryPointWrites(log.dir());

        assertThatThrownBy(log::close).isInstanceOf(IOException.class);

        assertThat(reported).hasSize(1);
        assertThat(log.dir().resolve(PartitionLog.CLEAN_SHUTDOWN_FILE)).doesNotExist();
        assertThatThrownBy(() -> log.append(batch(2, 2001), 0)).as("closed all the same")
                .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void aTruncationThatFailsIsReported() throws Exception {
        log.planFlush(true).active().close();

        assertThatThrownBy(() -> log.truncateTo(4)).isInstanceOf(IOException.class);

        assertThat(reported).hasSize(1);
    }

    @Test
    void anInvalidBatchIsNoDiskFailure() {
        ByteBuffer corrupt = batch(2, 3000);
        corrupt.put(corrupt.position() + RecordBatchHeader.CRC_OFFSET + 1, (byte) 0x5a);

        assertThatThrownBy(() -> log.append(corrupt, 0)).isInstanceOf(LogException.class);

        assertThat(reported).isEmpty();
    }

    @Test
    void aWriteOfAnInterruptedThreadIsNoDiskFailure() {
        Thread.currentThread().interrupt(); // the node closing: its threads are interrupted mid-write
        try {
            assertThatThrownBy(() -> log.append(batch(2, 3001), 0)).isInstanceOf(ClosedByInterruptException.class);
        } finally {
            Thread.interrupted();
        }

        assertThat(reported).isEmpty();
    }

    @Test
    void aClosedLogReportsNothing() throws Exception {
        log.close();
        breakRecoveryPointWrites(log.dir());

        assertThatCode(log::flush).as("a closed log flushes nothing").doesNotThrowAnyException();

        assertThat(reported).isEmpty();
    }

    /** A leader's batch for a follower: offsets from {@code base}, epoch 0. */
    private static ByteBuffer followerBatchAt(long base) {
        ByteBuffer b = batch(1, 4000);
        b.putLong(b.position() + RecordBatchHeader.BASE_OFFSET_OFFSET, base);
        return b;
    }
}
