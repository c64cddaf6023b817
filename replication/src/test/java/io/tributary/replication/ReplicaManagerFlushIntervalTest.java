package io.tributary.replication;

import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.metadata.MetadataImage;
import io.tributary.storage.LogConfig;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.SimpleRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code log.flush.interval.messages} reaches every log the node opens: with 1 (the durable mode) a leader append is
 * fsynced (its recovery point at the log end) before the append returns to be acknowledged; with Kafka's default
 * nothing is fsynced by an append.
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
}
