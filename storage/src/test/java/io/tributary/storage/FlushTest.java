package io.tributary.storage;

import static io.tributary.storage.TestBatches.batch;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The periodic flush in its three phases: the log end offset is taken under the append lock, the log file is fsynced
 * without it (appends go on meanwhile), and the recovery point moves to the offset taken at the start, never further
 * and never across a truncation that came in between.
 */
class FlushTest {
    private static final LogConfig CONFIG = new LogConfig(1 << 20, 3_600_000, -1, -1, 1_048_588, 100, 4096);

    @TempDir
    Path dir;
    private final TestBatches.MutableClock clock = new TestBatches.MutableClock(1_000_000);
    private PartitionLog log;

    @BeforeEach
    void open() throws IOException {
        log = PartitionLog.open(dir, CONFIG, clock);
        for (int i = 0; i < 10; i++) {
            log.append(batch(2, 1000 + i), 0); // offsets 0..19
        }
    }

    @AfterEach
    void close() throws IOException {
        log.close();
    }

    @Test
    void appendsGoOnDuringTheFsyncAndTheRecoveryPointStopsAtTheOffsetTakenFirst() throws Exception {
        PartitionLog.FlushPlan plan = log.planFlush();
        assertThat(plan.end()).isEqualTo(20);
        // Between taking the offset and the fsync, another thread appends: the lock is not held
        CompletableFuture.runAsync(() -> {
            try {
                log.append(batch(2, 2000), 0);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }).get(10, TimeUnit.SECONDS);
        assertThat(log.forceLog(plan)).isTrue();
        log.completeFlush(plan);
        assertThat(log.recoveryPoint()).as("what the plan saw, not the later append").isEqualTo(20);
        assertThat(Checkpoint.read(dir.resolve("recovery-point"), -1)).isEqualTo(20);

        log.flush();
        assertThat(log.recoveryPoint()).isEqualTo(22);
    }

    @Test
    void aTruncationBetweenThePlanAndTheFsyncLeavesTheRecoveryPointAlone() throws Exception {
        log.flush();
        assertThat(log.recoveryPoint()).isEqualTo(20);
        log.append(batch(2, 3000), 0); // 20..21
        PartitionLog.FlushPlan plan = log.planFlush();
        // A follower truncates below the plan's end and appends other batches in their place
        log.truncateTo(10);
        log.append(batch(20, 4000), 0); // 10..29, not yet fsynced
        assertThat(log.recoveryPoint()).isEqualTo(10);
        log.forceLog(plan);
        log.completeFlush(plan);
        assertThat(log.recoveryPoint()).as("not moved on the strength of bytes the fsync may not have covered")
                .isEqualTo(10);
    }

    @Test
    void aLogClosedDuringTheFsyncIsLeftAlone() throws Exception {
        PartitionLog.FlushPlan plan = log.planFlush();
        log.close();
        assertThat(log.forceLog(plan)).isFalse();
        log.completeFlush(plan); // no exception, nothing written
        log = PartitionLog.open(dir, CONFIG, clock);
        assertThat(log.logEndOffset()).isEqualTo(20);
    }

    @Test
    void flushIntervalMessagesFsyncsOnceThatManyMessagesAreUnflushedAndNeverByDefault() throws Exception {
        // By default (Kafka's): no flush after any append
        assertThat(log.maybeFlush()).isFalse();
        assertThat(log.recoveryPoint()).isZero();

        // log.flush.interval.messages=25: 20 unflushed, then 22, then 26 -> flushed to the end
        log.setFlushIntervalMessages(25);
        assertThat(log.maybeFlush()).isFalse();
        log.append(batch(2, 3000), 0);
        assertThat(log.maybeFlush()).isFalse();
        log.append(batch(4, 3001), 0);
        assertThat(log.maybeFlush()).isTrue();
        assertThat(log.recoveryPoint()).isEqualTo(26);
        assertThat(Checkpoint.read(dir.resolve("recovery-point"), -1)).isEqualTo(26);

        // log.flush.interval.messages=1 (the durable mode): every append
        log.setFlushIntervalMessages(1);
        log.append(batch(1, 3002), 0);
        assertThat(log.maybeFlush()).isTrue();
        assertThat(log.recoveryPoint()).isEqualTo(27);
    }
}
