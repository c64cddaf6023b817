package io.tributary.replication;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tributary.metadata.MetadataImage;
import io.tributary.metadata.Uuids;
import io.tributary.proto.metadata.ConfigChangeRecord;
import io.tributary.proto.metadata.MetadataRecord;
import io.tributary.storage.LogConfig;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.SimpleRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * min.insync.replicas as Kafka's {@code Partition.effectiveMinIsr}: a topic's value (or the node's) applies to the open
 * partition at once, and never above the replication factor.
 */
class ReplicaManagerMinInsyncTest {

    private static final PartitionId TP = new PartitionId("t", 0);

    @TempDir
    Path dir;
    private ReplicaManager replicas;

    @AfterEach
    void close() {
        if (replicas != null) {
            replicas.close();
        }
    }

    @Test
    void aTopicsMinInsyncAppliesToTheOpenPartitionAndIsCappedAtTheReplicationFactor() throws Exception {
        // Given a node whose min.insync.replicas is 2 and a partition on two replicas with only its leader in the ISR
        replicas = new ReplicaManager(TwoBrokerImages.LEADER, dir, LogConfig.DEFAULTS, Clock.systemUTC(),
                ReplicationConfig.DEFAULTS);
        replicas.setController((topicId, partition, proposal) -> new CompletableFuture<>(), () -> 1);
        MetadataImage image = TwoBrokerImages.ledByOne(TP, List.of(TwoBrokerImages.LEADER));
        replicas.onImage(MetadataImage.EMPTY, image);
        assertThat(replicas.partition(TP).minInsyncReplicas()).isEqualTo(2);
        // Then acks=all is refused, acks=1 taken
        assertThatThrownBy(() -> replicas.appendAsLeader(TP, -1, batch(), -1))
                .isInstanceOfSatisfying(ReplicaException.class,
                        e -> assertThat(e.error()).isEqualTo(ReplicaError.NOT_ENOUGH_REPLICAS));
        replicas.appendAsLeader(TP, -1, batch(), 1);

        // When the topic lowers it to 1, Then acks=all is taken on the open partition
        MetadataImage lowered = withTopicConfig(image, "1", 10);
        replicas.onImage(image, lowered);
        assertThat(replicas.partition(TP).minInsyncReplicas()).isEqualTo(1);
        replicas.appendAsLeader(TP, -1, batch(), -1);

        // When it is raised above the two replicas, Then it counts as 2: refused again, never impossible for good
        MetadataImage raised = withTopicConfig(lowered, "5", 11);
        replicas.onImage(lowered, raised);
        assertThat(replicas.partition(TP).minInsyncReplicas()).isEqualTo(2);
        assertThatThrownBy(() -> replicas.appendAsLeader(TP, -1, batch(), -1))
                .isInstanceOf(ReplicaException.class);
    }

    @Test
    void theEffectiveValueIsNeverAboveTheReplicationFactorNorBelowOne() {
        ReplicationConfig node = new ReplicationConfig(10_000, 2, 500, 1 << 20);
        assertThat(node.minInsyncFor(null, 1)).as("RF 1 on a min.insync.replicas=2 node").isEqualTo(1);
        assertThat(node.minInsyncFor(null, 3)).isEqualTo(2);
        assertThat(node.minInsyncFor("3", 3)).isEqualTo(3);
        assertThat(node.minInsyncFor("4", 3)).isEqualTo(3);
        assertThat(node.minInsyncFor("0", 3)).isEqualTo(1);
        assertThat(node.minInsyncFor("x", 3)).as("unparsable: the node's").isEqualTo(2);
    }

    private static MetadataImage withTopicConfig(MetadataImage image, String minInsync, long offset) {
        return image.apply(MetadataRecord.newBuilder().setConfigChange(ConfigChangeRecord.newBuilder()
                .setTopicId(Uuids.toProto(image.topic(TP.topic()).topicId()))
                .putSet("min.insync.replicas", minInsync)).build(), offset);
    }

    private static ByteBuffer batch() {
        return MemoryRecords.withRecords(Compression.NONE, new SimpleRecord("v".getBytes())).buffer();
    }
}
