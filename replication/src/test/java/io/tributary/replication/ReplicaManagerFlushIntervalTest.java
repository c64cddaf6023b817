package io.tributary.replication;

import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.metadata.MetadataImage;
import io.tributary.storage.LogConfig;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.SimpleRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code log.flush.interval.messages} reaches every log the node opens: with 1 (the durable mode) a leader append is
 * fsynced (its recovery point at the log end) before the append returns to be acknowledged; with Kafka's default
 * nothing is fsynced by an append. A roll's flush runs on the node's log maintenance thread (not on the appending
 * one) and moves the recovery point to the new segment.
 */
class ReplicaManagerFlushIntervalTest {
    private static final PartitionId TP = new PartitionId("t", 0);

    @TempDir
    Path dir;

    @Test
    void aLeaderAppendIsFsyncedBeforeItReturnsOnlyWhenFlushIntervalMessagesAsksForIt() throws Exception {
        for (long interval : new long[] {1, Long.MAX_VALUE}) {
            Path logs = dir.resolve("interval-" + interval);
            try (ReplicaManager replicas = new ReplicaManager(TwoBrokerImages.LEADER, logs, LogConfig.DEFAULTS,
                    Clock.systemUTC(), ReplicationConfig.DEFAULTS)) {
                replicas.setController((topicId, partition, proposal) -> new CompletableFuture<>(), () -> 1);
                replicas.setFlushIntervalMessages(interval);
                replicas.onImage(MetadataImage.EMPTY, TwoBrokerImages.ledByOne(TP, List.of(TwoBrokerImages.LEADER)));

                replicas.appendAsLeader(TP, -1, MemoryRecords.withRecords(Compression.NONE,
                        new SimpleRecord("a".getBytes()), new SimpleRecord("b".getBytes())).buffer(), 1);

                long recoveryPoint = replicas.partition(TP).log().recoveryPoint();
                assertThat(recoveryPoint).as("interval %d", interval).isEqualTo(interval == 1 ? 2 : 0);
            }
        }
    }

    @Test
    void aRollIsFlushedOnTheMaintenanceThreadAndMovesTheRecoveryPointToTheNewSegment() throws Exception {
        LogConfig smallSegments = new LogConfig(1024, 3_600_000, -1, -1, 1_048_588, 4096, 10_485_760);
        try (ReplicaManager replicas = new ReplicaManager(TwoBrokerImages.LEADER, dir.resolve("rolls"), smallSegments,
                Clock.systemUTC(), ReplicationConfig.DEFAULTS)) {
            replicas.setController((topicId, partition, proposal) -> new CompletableFuture<>(), () -> 1);
            replicas.onImage(MetadataImage.EMPTY, TwoBrokerImages.ledByOne(TP, List.of(TwoBrokerImages.LEADER)));
            var log = replicas.partition(TP).log();
            // The maintenance thread is held: a roll flush run by the appending thread (a log without the broker's
            // executor flushes inline) would move the recovery point before the append returns.
            CountDownLatch held = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            replicas.executeOnMaintenanceThread(() -> {
                held.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            assertThat(held.await(10, TimeUnit.SECONDS)).isTrue();
            try {
                while (log.numberOfSegments() < 3) {
                    replicas.appendAsLeader(TP, -1, MemoryRecords.withRecords(Compression.NONE,
                            new SimpleRecord(new byte[400])).buffer(), 1);
                }
                assertThat(log.recoveryPoint()).as("the roll flush waits for the maintenance thread").isZero();
            } finally {
                release.countDown();
            }
            long activeBase = log.segmentBaseOffsets().get(2);
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (log.recoveryPoint() < activeBase && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            assertThat(log.recoveryPoint()).as("flushed up to the active segment, not into it").isEqualTo(activeBase);
        }
    }
}
