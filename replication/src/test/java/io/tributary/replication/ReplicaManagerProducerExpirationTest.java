package io.tributary.replication;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tributary.metadata.MetadataImage;
import io.tributary.metadata.Uuids;
import io.tributary.proto.metadata.CreateTopicRecord;
import io.tributary.proto.metadata.MetadataRecord;
import io.tributary.proto.metadata.PartitionRecord;
import io.tributary.storage.LogConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.UUID;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.SimpleRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The replica manager's producer expiration ({@code producer.id.expiration.ms}, checked every
 * {@code producer.id.expiration.check.interval.ms} on the log-maintenance thread) forgets idle idempotent producers on
 * every hosted log and keeps the active ones; {@link ReplicaManager#producerIdCount} (the {@code
 * tributary_producer_ids} gauge) follows.
 */
class ReplicaManagerProducerExpirationTest {
    private static final int NODE = 1;
    private static final long EXPIRATION_MS = 3_600_000;
    private static final long NOW_MS = 1_700_000_000_000L;

    @TempDir
    Path dir;
    private ReplicaManager replicas;

    @BeforeEach
    void open() throws IOException {
        Clock clock = Clock.fixed(Instant.ofEpochMilli(NOW_MS), ZoneOffset.UTC);
        replicas = new ReplicaManager(NODE, dir, LogConfig.DEFAULTS, clock, ReplicationConfig.DEFAULTS);
        MetadataImage image = create(create(MetadataImage.EMPTY, "a"), "b");
        replicas.onImage(MetadataImage.EMPTY, image);
    }

    @AfterEach
    void close() {
        replicas.close();
    }

    @Test
    void forgetsIdleProducersOnEveryLogAndKeepsActiveOnes() {
        // Given two producers on topics a and b whose last batches are EXPIRATION_MS old, and one that wrote just now
        produce("a", 1, NOW_MS - EXPIRATION_MS);
        produce("b", 2, NOW_MS - EXPIRATION_MS);
        produce("a", 3, NOW_MS);
        assertThat(replicas.producerIdCount()).isEqualTo(3);

        // When producers idle for the expiration are expired
        int expired = replicas.expireProducers(EXPIRATION_MS);

        // Then the two idle ones are gone, on both logs, and the active one stays
        assertThat(expired).isEqualTo(2);
        assertThat(replicas.producerIdCount()).isEqualTo(1);
        assertThat(replicas.partition(new PartitionId("a", 0)).log().producerState().entry(3)).isPresent();
        assertThat(replicas.partition(new PartitionId("b", 0)).log().producerState().entry(2)).isEmpty();
    }

    @Test
    void theMaintenanceThreadExpiresProducersEveryCheckInterval() {
        produce("a", 1, NOW_MS - EXPIRATION_MS - 5);
        produce("b", 2, NOW_MS - EXPIRATION_MS + 5);

        replicas.startMaintenance(new LogMaintenanceConfig(3_600_000, 3_600_000, EXPIRATION_MS, 10));

        await().atMost(Duration.ofSeconds(10)).until(() -> replicas.producerIdCount() == 1);
        assertThat(replicas.partition(new PartitionId("b", 0)).log().producerState().entry(2)).isPresent();
    }

    private void produce(String topic, long producerId, long timestampMs) {
        var batch = MemoryRecords.withIdempotentRecords(Compression.NONE, producerId, (short) 0, 0,
                new SimpleRecord(timestampMs, "k".getBytes(), "v".getBytes())).buffer();
        replicas.appendAsLeader(new PartitionId(topic, 0), -1, batch, 1);
    }

    /** A single-replica topic led by this node, created at the next offset. */
    private static MetadataImage create(MetadataImage image, String name) {
        return image.apply(MetadataRecord.newBuilder().setCreateTopic(CreateTopicRecord.newBuilder()
                .setName(name).setTopicId(Uuids.toProto(UUID.randomUUID()))
                .addPartitions(PartitionRecord.newBuilder().setPartition(0).addReplicas(NODE).addIsr(NODE)
                        .setLeader(NODE).setLeaderEpoch(0).setPartitionEpoch(0)))
                .build(), image.offset() + 1);
    }

}
