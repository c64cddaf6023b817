package io.tributary.node.group;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tributary.metadata.MetadataImage;
import io.tributary.metadata.Uuids;
import io.tributary.proto.metadata.CreateTopicRecord;
import io.tributary.proto.metadata.MetadataRecord;
import io.tributary.proto.metadata.PartitionRecord;
import io.tributary.proto.metadata.RegisterBrokerRecord;
import io.tributary.proto.metadata.UnfenceBrokerRecord;
import io.tributary.replication.PartitionId;
import io.tributary.replication.ReplicaManager;
import io.tributary.replication.ReplicationConfig;
import io.tributary.storage.CleanerThrottle;
import io.tributary.storage.LogConfig;
import io.tributary.storage.PartitionLog;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.SimpleRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13: a coordinator loads its {@code __consumer_offsets} partition in bounded chunks, and a compacted partition
 * (gaps, batches left without records) loads completely: here more than a whole read chunk of the log is empty batch
 * headers, which compaction keeps for their producers, before the commits that count.
 */
class GroupServiceLoadTest {

    private static final PartitionId OFFSETS_0 = new PartitionId(GroupService.TOPIC, 0);

    @TempDir
    Path dir;
    private ReplicaManager replicas;
    private GroupService groups;

    @AfterEach
    void close() throws Exception {
        if (groups != null) {
            groups.close();
        }
        if (replicas != null) {
            replicas.close();
        }
    }

    @Test
    void aCompactedPartitionWhoseFirstChunkIsOnlyEmptyBatchesLoadsEveryLatestCommit() throws Exception {
        replicas = new ReplicaManager(1, dir, LogConfig.DEFAULTS, Clock.systemUTC(), ReplicationConfig.DEFAULTS);
        MetadataImage image = singleNodeWithOffsetsTopic();
        replicas.onImage(MetadataImage.EMPTY, image);
        long now = System.currentTimeMillis();

        // 25,000 one-record batches of as many idempotent producers, each committing partition 0 of topic "old";
        // then the commits that count. Segments of 64 KiB: compaction sees all but the last.
        for (int i = 0; i < 25_000; i++) {
            GroupRecordCodec.Encoded e = GroupRecordCodec.encode(
                    new GroupRecord.OffsetCommitRecord("g", "old", 0, i, -1, "", now));
            replicas.appendAsLeader(OFFSETS_0, -1, MemoryRecords.withIdempotentRecords(Compression.NONE, 1000 + i,
                    (short) 0, 0, new SimpleRecord(now, e.key(), e.value())).buffer(), 1);
        }
        Map<TopicPartition, Long> expected = new HashMap<>();
        for (int p = 0; p < 10; p++) {
            for (int round = 0; round < 3; round++) {
                long offset = round * 100L + p;
                append(new GroupRecord.OffsetCommitRecord("g", "t", p, offset, -1, "", now));
                expected.put(new TopicPartition("t", p), offset);
            }
        }
        expected.put(new TopicPartition("old", 0), 24_999L);
        PartitionLog log = replicas.partition(OFFSETS_0).log();
        // Every "old" batch but the last loses its record; each keeps its header (its producer's last sequence).
        log.clean(log.logEndOffset(), now, 86_400_000L, 1 << 20, CleanerThrottle.UNLIMITED);

        groups = new GroupService(1, replicas, GroupCoordinatorConfig.defaults(), System::currentTimeMillis, 1);
        groups.onImage(MetadataImage.EMPTY, image);
        await().atMost(Duration.ofSeconds(30)).until(() -> groups.snapshot().get().containsKey("g"));
        assertThat(groups.snapshot().get().get("g").committedOffsets()).isEqualTo(expected);
    }

    /**
     * The bound: a coordinator fail-over loads a partition that took a million offset commits of 100 groups,
     * after compaction, in under 5 s, reading at most one 1 MiB chunk at a time. (Before compaction the same log is
     * loaded too, for the record: its time is printed, not asserted.)
     */
    @Test
    void aMillionCommitsOfAHundredGroupsLoadAfterCompactionInBoundedChunksUnderFiveSeconds() throws Exception {
        replicas = new ReplicaManager(1, dir, LogConfig.DEFAULTS, Clock.systemUTC(), ReplicationConfig.DEFAULTS);
        MetadataImage image = singleNodeWithOffsetsTopic(4 << 20);
        replicas.onImage(MetadataImage.EMPTY, image);
        long now = System.currentTimeMillis();
        int groupCount = 100;
        int rounds = 100;
        // Each group commits 10 topics x 10 partitions, 100 times: 10,000 batches of 100 records, 1,000,000 commits
        Map<String, Map<TopicPartition, Long>> expected = new HashMap<>();
        for (int round = 0; round < rounds; round++) {
            for (int g = 0; g < groupCount; g++) {
                List<SimpleRecord> batch = new ArrayList<>();
                for (int t = 0; t < 10; t++) {
                    for (int p = 0; p < 10; p++) {
                        long offset = round * 1_000L + t * 10 + p;
                        GroupRecordCodec.Encoded e = GroupRecordCodec.encode(new GroupRecord.OffsetCommitRecord(
                                "group-" + g, "topic-" + t, p, offset, -1, "", now));
                        batch.add(new SimpleRecord(now, e.key(), e.value()));
                        expected.computeIfAbsent("group-" + g, k -> new HashMap<>())
                                .put(new TopicPartition("topic-" + t, p), offset);
                    }
                }
                replicas.appendAsLeader(OFFSETS_0, -1, MemoryRecords.withRecords(Compression.NONE,
                        batch.toArray(SimpleRecord[]::new)).buffer(), 1);
            }
        }
        PartitionLog log = replicas.partition(OFFSETS_0).log();
        assertThat(log.logEndOffset()).isEqualTo(1_000_000L);

        GroupService.LoadStats uncompacted = loadAll(image, expected);
        System.out.println("uncompacted: " + uncompacted + ", log " + log.sizeInBytes() + " bytes");
        groups.close();
        groups = null;

        log.clean(log.logEndOffset(), now, 86_400_000L, 16 << 20, CleanerThrottle.UNLIMITED);
        GroupService.LoadStats compacted = loadAll(image, expected);
        System.out.println("compacted: " + compacted + ", log " + log.sizeInBytes() + " bytes");
        assertThat(compacted.records()).as("compaction left each key's latest commit, plus the active segment")
                .isLessThan(uncompacted.records() / 10);
        assertThat(compacted.millis()).isLessThan(5_000);
        assertThat(compacted.maxChunkBytes()).isLessThanOrEqualTo((1 << 20) + (64 << 10));
        assertThat(uncompacted.maxChunkBytes()).isLessThanOrEqualTo((1 << 20) + (64 << 10));
    }

    /** A fresh coordinator (a fail-over to this node) loads partition 0; every group's offsets are the expected ones. */
    private GroupService.LoadStats loadAll(MetadataImage image, Map<String, Map<TopicPartition, Long>> expected)
            throws Exception {
        groups = new GroupService(1, replicas, GroupCoordinatorConfig.defaults(), System::currentTimeMillis, 1);
        groups.onImage(MetadataImage.EMPTY, image);
        await().atMost(Duration.ofSeconds(60)).until(() -> groups.lastLoad(0).isPresent());
        Map<String, GroupService.GroupSnapshot> snapshot = groups.snapshot().get();
        assertThat(snapshot).hasSize(expected.size());
        expected.forEach((group, offsets) -> assertThat(snapshot.get(group).committedOffsets()).as(group)
                .isEqualTo(offsets));
        return groups.lastLoad(0).orElseThrow();
    }

    private void append(GroupRecord record) throws Exception {
        GroupRecordCodec.Encoded e = GroupRecordCodec.encode(record);
        ByteBuffer batch = MemoryRecords.withRecords(Compression.NONE,
                new SimpleRecord(System.currentTimeMillis(), e.key(), e.value())).buffer();
        replicas.appendAsLeader(OFFSETS_0, -1, batch, 1);
    }

    private static MetadataImage singleNodeWithOffsetsTopic() {
        return singleNodeWithOffsetsTopic(65536);
    }

    static MetadataImage singleNodeWithOffsetsTopic(int segmentBytes) {
        MetadataImage image = MetadataImage.EMPTY.apply(MetadataRecord.newBuilder().setRegisterBroker(
                RegisterBrokerRecord.newBuilder().setBrokerId(1).setIncarnationId("i1")).build(), 1);
        long epoch = image.brokers().get(1).brokerEpoch();
        image = image.apply(MetadataRecord.newBuilder().setUnfenceBroker(UnfenceBrokerRecord.newBuilder()
                .setBrokerId(1).setBrokerEpoch(epoch)).build(), 2);
        List<PartitionRecord> partitions = new ArrayList<>();
        partitions.add(PartitionRecord.newBuilder().setPartition(0).addReplicas(1).addIsr(1).setLeader(1)
                .setLeaderEpoch(1).setPartitionEpoch(1).build());
        return image.apply(MetadataRecord.newBuilder().setCreateTopic(CreateTopicRecord.newBuilder()
                .setName(GroupService.TOPIC).setTopicId(Uuids.toProto(UUID.randomUUID()))
                .addAllPartitions(partitions).putConfigs("cleanup.policy", "compact").putConfigs("segment.bytes", Integer.toString(segmentBytes))).build(), 3);
    }
}
