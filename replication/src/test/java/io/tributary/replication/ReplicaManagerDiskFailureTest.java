package io.tributary.replication;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tributary.metadata.MetadataImage;
import io.tributary.storage.LogConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.SimpleRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every log the node opens reports its disk failures (a failed write, truncation or fsync) to the node's handler,
 * named by partition: the broker halts on it (TributaryNode). A leader's append whose flush fails
 * ({@code log.flush.interval.messages=1}) is not acknowledged: the producer gets KAFKA_STORAGE_ERROR.
 */
class ReplicaManagerDiskFailureTest {
    private static final PartitionId TP = new PartitionId("t", 0);

    @TempDir
    Path dir;

    @Test
    void aFailedFsyncOfAHostedLogReachesTheNodesHandlerNamedByPartition() throws Exception {
        Map<PartitionId, IOException> failed = new ConcurrentHashMap<>();
        try (ReplicaManager replicas = new ReplicaManager(TwoBrokerImages.LEADER, dir, LogConfig.DEFAULTS,
                Clock.systemUTC(), ReplicationConfig.DEFAULTS)) {
            replicas.setController((topicId, partition, proposal) -> new CompletableFuture<>(), () -> 1);
            replicas.setFlushIntervalMessages(1); // every append is flushed before it is acknowledged
            replicas.setDiskFailureHandler(failed::put);
            replicas.onImage(MetadataImage.EMPTY, TwoBrokerImages.ledByOne(TP, List.of(TwoBrokerImages.LEADER)));
            Path logDir = replicas.partition(TP).log().dir();
            // The recovery point is written through a temporary sibling: a directory in its place fails the flush
            Files.createDirectory(logDir.resolve("recovery-point.tmp"));

            assertThatThrownBy(() -> replicas.appendAsLeader(TP, -1, MemoryRecords.withRecords(Compression.NONE,
                    new SimpleRecord("a".getBytes())).buffer(), 1))
                    .isInstanceOf(ReplicaException.class)
                    .extracting(e -> ((ReplicaException) e).error()).isEqualTo(ReplicaError.KAFKA_STORAGE_ERROR);

            assertThat(failed).containsOnlyKeys(TP);
            assertThat(replicas.diskFailures()).isEqualTo(1);
            Files.delete(logDir.resolve("recovery-point.tmp")); // so that the log closes
        }
    }
}
