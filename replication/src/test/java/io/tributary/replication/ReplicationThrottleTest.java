package io.tributary.replication;

import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.metadata.MetadataImage;
import io.tributary.metadata.Uuids;
import io.tributary.proto.metadata.BrokerConfigChangeRecord;
import io.tributary.proto.metadata.ConfigChangeRecord;
import io.tributary.proto.metadata.MetadataRecord;
import io.tributary.proto.replication.PartitionData;
import io.tributary.proto.replication.PartitionFetch;
import io.tributary.proto.replication.ReplicaFetchError;
import io.tributary.proto.replication.ReplicaFetchRequest;
import io.tributary.storage.LogConfig;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.SimpleRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The leader side of the replication throttle (KIP-73), through the leader's fetch endpoint with the configs in the
 * metadata image: once the bytes of throttled replicas are over {@code leader.replication.throttled.rate}, a
 * follower outside the ISR gets no records of a partition its {@code leader.replication.throttled.replicas} names
 * (the fetch still counts as its position), an in-sync follower still does, and the records flow again once the
 * rate is raised or the throttle is removed.
 */
class ReplicationThrottleTest {

    private static final int LEADER = TwoBrokerImages.LEADER;
    private static final int FOLLOWER = TwoBrokerImages.FOLLOWER;
    private static final PartitionId TP = new PartitionId("t", 0);
    private static final int BATCH_VALUE_BYTES = 1_000;

    @TempDir
    Path dir;
    private final Clock clock = Clock.systemUTC();
    private ReplicaManager replicas;
    private ReplicationService service;
    private MetadataImage image;
    private long followerEpoch;
    private long offset = 3;

    private void open(List<Integer> isr, Map<String, String> topicConfigs, Map<String, String> brokerConfigs)
            throws Exception {
        replicas = new ReplicaManager(LEADER, dir, LogConfig.DEFAULTS, clock, ReplicationConfig.DEFAULTS);
        replicas.setController((topicId, partition, proposal) -> new CompletableFuture<>(), () -> 1);
        service = new ReplicationService(replicas);
        image = TwoBrokerImages.ledByOne(TP, isr);
        followerEpoch = image.brokers().get(FOLLOWER).brokerEpoch();
        image = withConfigs(image, topicConfigs, brokerConfigs);
        replicas.onImage(MetadataImage.EMPTY, image);
        for (int i = 0; i < 40; i++) {
            replicas.appendAsLeader(TP, -1, MemoryRecords.withRecords(Compression.NONE,
                    new SimpleRecord(new byte[BATCH_VALUE_BYTES])).buffer(), 1);
        }
    }

    private MetadataImage withConfigs(MetadataImage base, Map<String, String> topicConfigs,
            Map<String, String> brokerConfigs) {
        MetadataImage next = base.apply(MetadataRecord.newBuilder().setConfigChange(ConfigChangeRecord.newBuilder()
                .setTopicId(Uuids.toProto(base.topic(TP.topic()).topicId())).putAllSet(topicConfigs)).build(),
                offset++);
        return next.apply(MetadataRecord.newBuilder().setBrokerConfigChange(BrokerConfigChangeRecord.newBuilder()
                .setResourceName(Integer.toString(LEADER)).putAllSet(brokerConfigs)).build(), offset++);
    }

    @AfterEach
    void close() {
        if (replicas != null) {
            replicas.close();
        }
    }

    @Test
    void aFollowerOutsideTheIsrGetsNoRecordsOfAThrottledPartitionWhileOverTheRate() throws Exception {
        // 10,000 bytes/s: the first ten seconds' worth (10 batches) pass, then the throttle holds back
        open(List.of(LEADER), Map.of(ReplicaManager.LEADER_THROTTLED_REPLICAS, "0:1"),
                Map.of(ReplicaManager.LEADER_THROTTLED_RATE, "1000"));
        ReplicationQuota quota = replicas.leaderQuota();
        long position = 0;
        int answersWithRecords = 0;
        while (!quota.isExceeded(clock.millis())) {
            PartitionData data = fetch(position, 3 * BATCH_VALUE_BYTES);
            assertThat(data.getRecords().size()).isPositive();
            position = nextOffset(data);
            answersWithRecords++;
        }
        assertThat(answersWithRecords).as("about 10,000 bytes in answers of 3 batches").isBetween(3, 6);
        assertThat(quota.recordedBytes()).isGreaterThan(10_000);

        PartitionData held = fetch(position, 3 * BATCH_VALUE_BYTES);
        assertThat(held.getError()).isEqualTo(ReplicaFetchError.NONE);
        assertThat(held.getRecords().isEmpty()).as("held back").isTrue();
        assertThat(held.getHighWatermark()).as("the answer still carries the high watermark")
                .isEqualTo(replicas.partition(TP).highWatermark());
        assertThat(quota.heldBack()).isEqualTo(1);

        // When the rate is raised (the windows' expiry is ReplicationQuotaTest's), Then records flow again
        MetadataImage raised = image.apply(MetadataRecord.newBuilder().setBrokerConfigChange(
                BrokerConfigChangeRecord.newBuilder().setResourceName(Integer.toString(LEADER))
                        .putSet(ReplicaManager.LEADER_THROTTLED_RATE, "1000000000")).build(), offset++);
        replicas.onImage(image, raised);
        assertThat(fetch(position, 3 * BATCH_VALUE_BYTES).getRecords().size()).isPositive();
    }

    @Test
    void anInSyncFollowerIsNotHeldBackAndItsBytesCount() throws Exception {
        open(List.of(LEADER, FOLLOWER), Map.of(ReplicaManager.LEADER_THROTTLED_REPLICAS, "*"),
                Map.of(ReplicaManager.LEADER_THROTTLED_RATE, "1"));
        replicas.leaderQuota().record(1_000_000, clock.millis());
        assertThat(replicas.leaderQuota().isExceeded(clock.millis())).isTrue();
        long before = replicas.leaderQuota().recordedBytes();
        PartitionData data = fetch(0, 1 << 20);
        assertThat(data.getRecords().size()).isGreaterThan(40 * BATCH_VALUE_BYTES);
        assertThat(replicas.leaderQuota().recordedBytes() - before).isEqualTo(data.getRecords().size());
        assertThat(replicas.leaderQuota().heldBack()).isZero();
    }

    @Test
    void withoutARateOrWithAListNotNamingThisNodeNothingIsHeldBack() throws Exception {
        open(List.of(LEADER), Map.of(ReplicaManager.LEADER_THROTTLED_REPLICAS, "0:2,1:1"),
                Map.of(ReplicaManager.LEADER_THROTTLED_RATE, "1"));
        assertThat(replicas.leaderQuota().isThrottled(TP)).as("0:2 names the follower, not this leader").isFalse();
        assertThat(fetch(0, 1 << 20).getRecords().size()).isGreaterThan(40 * BATCH_VALUE_BYTES);

        // Now the list names this node, but the rate goes: no bound, nothing held back
        image = withConfigs(image, Map.of(ReplicaManager.LEADER_THROTTLED_REPLICAS, "0:1"), Map.of());
        MetadataImage unbounded = image.apply(MetadataRecord.newBuilder().setBrokerConfigChange(
                BrokerConfigChangeRecord.newBuilder().setResourceName(Integer.toString(LEADER))
                        .addDeleted(ReplicaManager.LEADER_THROTTLED_RATE)).build(), offset++);
        replicas.onImage(image, unbounded);
        assertThat(replicas.leaderQuota().isThrottled(TP)).isTrue();
        assertThat(replicas.leaderQuota().bytesPerSecond()).isEqualTo(ReplicationQuota.UNLIMITED);
        replicas.leaderQuota().record(1_000_000, clock.millis());
        assertThat(fetch(0, 1 << 20).getRecords().size()).isGreaterThan(40 * BATCH_VALUE_BYTES);
        assertThat(replicas.leaderQuota().heldBack()).isZero();
    }

    private PartitionData fetch(long fetchOffset, int maxBytes) throws Exception {
        PartitionData data = service.handle(ReplicaFetchRequest.newBuilder().setReplicaId(FOLLOWER)
                .setBrokerEpoch(followerEpoch).setMaxWaitMs(0).setMaxBytes(maxBytes)
                .addPartitions(PartitionFetch.newBuilder().setTopic(TP.topic()).setPartition(TP.partition())
                        .setFetchOffset(fetchOffset).setLastFetchedEpoch(fetchOffset == 0 ? -1 : 1)
                        .setCurrentLeaderEpoch(1))
                .build()).get().getPartitions(0);
        assertThat(data.getError()).isEqualTo(ReplicaFetchError.NONE);
        return data;
    }

    private static long nextOffset(PartitionData data) {
        long next = -1;
        for (var batch : MemoryRecords.readableRecords(data.getRecords().asReadOnlyByteBuffer()).batches()) {
            next = batch.nextOffset();
        }
        return next;
    }
}
