package io.tributary.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tributary.metadata.MetadataImage;
import io.tributary.metadata.Uuids;
import io.tributary.proto.metadata.CreatePartitionsRecord;
import io.tributary.proto.metadata.CreateTopicRecord;
import io.tributary.proto.metadata.DeleteTopicRecord;
import io.tributary.proto.metadata.MetadataRecord;
import io.tributary.proto.metadata.PartitionChangeRecord;
import io.tributary.proto.metadata.PartitionRecord;
import io.tributary.storage.LogConfig;
import io.tributary.storage.PartitionMetadataFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.SimpleRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The replica manager deletes a log only for an explicit deletion of its own topic id: never because a topic is
 * missing from an image (a torn snapshot, a stale replay), never the log of another incarnation of the topic, and
 * unknown directories are renamed aside, not deleted.
 */
class ReplicaManagerLogLifecycleTest {

    private static final int NODE = 1;

    @TempDir
    Path dir;
    private ReplicaManager replicas;

    @BeforeEach
    void open() throws IOException {
        replicas = newManager();
    }

    @AfterEach
    void close() {
        replicas.close();
    }

    private ReplicaManager newManager() throws IOException {
        return new ReplicaManager(NODE, dir, LogConfig.DEFAULTS, Clock.systemUTC(), ReplicationConfig.DEFAULTS);
    }

    @Test
    void aTopicMissingFromAnImageKeepsItsLogAndComesBack() throws IOException {
        UUID id = UUID.randomUUID();
        MetadataImage created = create(MetadataImage.EMPTY, "t", id, 0);
        replicas.onImage(MetadataImage.EMPTY, created);
        produce("t", 3);

        // A torn snapshot parses as an empty image: nothing is deleted, the replica is only closed.
        MetadataImage empty = MetadataImage.fromSnapshot(MetadataImage.EMPTY.toSnapshot().toBuilder()
                .setOffset(created.offset() + 1).build());
        replicas.onImage(created, empty);
        assertThrows(ReplicaException.class, () -> replicas.partition(new PartitionId("t", 0)));
        assertTrue(Files.isDirectory(dir.resolve("t-0")));

        replicas.onImage(empty, created);
        assertEquals(3, replicas.partition(new PartitionId("t", 0)).log().logEndOffset());
    }

    @Test
    void aDeletedTopicsLogIsDeleted() throws IOException {
        UUID id = UUID.randomUUID();
        MetadataImage created = create(MetadataImage.EMPTY, "t", id, 0);
        replicas.onImage(MetadataImage.EMPTY, created);
        produce("t", 2);
        MetadataImage deleted = delete(created, id);
        replicas.onImage(created, deleted);
        assertFalse(Files.exists(dir.resolve("t-0")));
        // renamed aside at once, its files deleted by the log-deleter thread
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> {
            try (Stream<Path> files = Files.list(dir)) {
                return files.noneMatch(f -> f.getFileName().toString().endsWith(ReplicaManager.DELETE_SUFFIX))
                        && replicas.pendingDeletes() == 0;
            }
        });
    }

    @Test
    void aDirectoryRenamedForDeletionBeforeAStopIsDeletedAtTheNextStart() throws IOException {
        Path doomed = dir.resolve("t-0.1700000000000" + ReplicaManager.DELETE_SUFFIX);
        Files.createDirectories(doomed);
        Files.writeString(doomed.resolve("00000000000000000000.log"), "deleted topic's data");
        Path unknown = dir.resolve("t-1");
        Files.createDirectories(unknown);
        replicas.onImage(MetadataImage.EMPTY, create(MetadataImage.EMPTY, "live", UUID.randomUUID(), 0));
        replicas.handleStrayLogs();
        assertFalse(Files.exists(doomed));
        assertFalse(Files.exists(unknown), "an unknown directory is renamed aside, not deleted");
        try (Stream<Path> files = Files.list(dir)) {
            assertTrue(files.anyMatch(f -> f.getFileName().toString().startsWith("t-1.")
                    && f.getFileName().toString().endsWith("-stray")));
        }
    }

    @Test
    void replayingAnOldIncarnationsDeletionKeepsTheNewIncarnationsData() throws IOException {
        UUID oldId = UUID.randomUUID();
        UUID newId = UUID.randomUUID();
        MetadataImage v1 = create(MetadataImage.EMPTY, "t", oldId, 0);
        MetadataImage v2 = delete(v1, oldId);
        MetadataImage v3 = create(v2, "t", newId, 0);
        replicas.onImage(MetadataImage.EMPTY, v1);
        produce("t", 1);
        replicas.onImage(v1, v2);
        replicas.onImage(v2, v3);
        produce("t", 5);
        assertEquals(Optional.of(newId), PartitionMetadataFile.read(dir.resolve("t-0")));
        replicas.close();

        // Restart: the metadata replays from the start, through the old incarnation and its deletion.
        replicas = newManager();
        replicas.onImage(MetadataImage.EMPTY, v1);
        assertThrows(ReplicaException.class, () -> replicas.partition(new PartitionId("t", 0)));
        replicas.onImage(v1, v2);
        assertTrue(Files.isDirectory(dir.resolve("t-0")));
        replicas.onImage(v2, v3);
        assertEquals(5, replicas.partition(new PartitionId("t", 0)).log().logEndOffset());
    }

    @Test
    void unknownDirectoriesAreRenamedAsideAndDeletedTopicsDirectoriesDeleted() throws IOException {
        UUID live = UUID.randomUUID();
        UUID gone = UUID.randomUUID();
        MetadataImage image = delete(create(create(MetadataImage.EMPTY, "live", live, 0), "gone", gone, 0), gone);
        Path unknown = dir.resolve("unknown-0");
        Files.createDirectories(unknown);
        Files.writeString(unknown.resolve("00000000000000000000.log"), "someone's data");
        Path foreign = dir.resolve("foreign-0");
        PartitionMetadataFile.write(foreign, UUID.randomUUID());
        Path deleted = dir.resolve("gone-0");
        PartitionMetadataFile.write(deleted, gone);

        replicas.onImage(MetadataImage.EMPTY, image);
        replicas.handleStrayLogs();

        assertTrue(Files.isDirectory(dir.resolve("live-0")));
        assertFalse(Files.exists(unknown));
        assertFalse(Files.exists(foreign));
        assertFalse(Files.exists(deleted));
        List<Path> aside;
        try (Stream<Path> files = Files.list(dir)) {
            aside = files.filter(p -> p.getFileName().toString().endsWith("-stray")).sorted().toList();
        }
        assertEquals(2, aside.size(), aside.toString());
        assertTrue(aside.get(0).getFileName().toString().startsWith("foreign-0."));
        assertTrue(aside.get(1).getFileName().toString().startsWith("unknown-0."));
        assertEquals("someone's data", Files.readString(aside.get(1).resolve("00000000000000000000.log")));
        assertEquals(2, replicas.strayLogDirs());
    }

    @Test
    void aNewPartitionDirectoryRecordsItsTopicId() throws IOException {
        UUID id = UUID.randomUUID();
        replicas.onImage(MetadataImage.EMPTY, create(MetadataImage.EMPTY, "t", id, 0));
        assertNotNull(replicas.partition(new PartitionId("t", 0)));
        assertEquals(Optional.of(id), PartitionMetadataFile.read(dir.resolve("t-0")));
    }

    @Test
    void aPartitionTheNodeKnowsButHasNotOpenedYetIsNotLeaderRatherThanUnknown() {
        PartitionId id = new PartitionId("t", 0);
        MetadataImage created = create(MetadataImage.EMPTY, "t", UUID.randomUUID(), 0);
        assertEquals(ReplicaError.UNKNOWN_TOPIC_OR_PARTITION,
                assertThrows(ReplicaException.class, () -> replicas.partition(id)).error());

        // The node has applied the creation, but the image has not been handed to the replica manager yet
        replicas.setNewestImage(() -> created);
        assertEquals(ReplicaError.NOT_LEADER_OR_FOLLOWER,
                assertThrows(ReplicaException.class, () -> replicas.partition(id)).error());
        assertEquals(ReplicaError.UNKNOWN_TOPIC_OR_PARTITION,
                assertThrows(ReplicaException.class, () -> replicas.partition(new PartitionId("t", 1))).error());

        replicas.onImage(MetadataImage.EMPTY, created);
        assertNotNull(replicas.partition(id));
    }

    @Test
    void newPartitionsOfAnExistingTopicAreOpenedAndLedWhileTheOldKeepTheirData() throws IOException {
        UUID id = UUID.randomUUID();
        MetadataImage created = create(MetadataImage.EMPTY, "t", id, 0);
        replicas.onImage(MetadataImage.EMPTY, created);
        produce("t", 3);

        // CreatePartitions: partitions 1 and 2 appended to the topic
        CreatePartitionsRecord.Builder grow = CreatePartitionsRecord.newBuilder().setTopicId(Uuids.toProto(id));
        for (int p = 1; p <= 2; p++) {
            grow.addPartitions(PartitionRecord.newBuilder().setPartition(p).addReplicas(NODE).addIsr(NODE)
                    .setLeader(NODE).setLeaderEpoch(0).setPartitionEpoch(0));
        }
        MetadataImage grown = created.apply(MetadataRecord.newBuilder().setCreatePartitions(grow).build(),
                created.offset() + 1);
        replicas.onImage(created, grown);

        for (int p = 1; p <= 2; p++) {
            Partition partition = replicas.partition(new PartitionId("t", p));
            assertTrue(partition.isLeader(), "partition " + p + " is led here");
            assertEquals(0, partition.log().logEndOffset());
            assertEquals(Optional.of(id), PartitionMetadataFile.read(dir.resolve("t-" + p)));
        }
        assertEquals(3, replicas.partition(new PartitionId("t", 0)).log().logEndOffset());
    }

    @Test
    void aReplicaReassignedAwayStopsAndDeletesItsLogAndOneAddedOpensAndFollows() throws IOException {
        // Given this node leads partition 0 of "t" alone, with 3 records
        UUID id = UUID.randomUUID();
        MetadataImage created = create(MetadataImage.EMPTY, "t", id, 0);
        replicas.onImage(MetadataImage.EMPTY, created);
        produce("t", 3);
        PartitionId tp = new PartitionId("t", 0);

        // When a reassignment to node 2 starts (replicas [2, 1], adding 2, removing 1)
        MetadataImage started = change(created, id, List.of(2, NODE), List.of(NODE), NODE, 0, 1, List.of(2),
                List.of(NODE));
        replicas.onImage(created, started);

        // Then this node still leads, with the new replica as a follower, and keeps its log
        assertTrue(replicas.partition(tp).isLeader());
        assertEquals(List.of(2, NODE), replicas.partition(tp).image().replicas());
        assertEquals(3, replicas.partition(tp).log().logEndOffset());

        // When the move completes (replicas [2], 2 leads): the topic is still there, without this node
        MetadataImage completed = change(started, id, List.of(2), List.of(2), 2, 1, 2, List.of(), List.of());
        replicas.onImage(started, completed);

        // Then the replica is gone and its log directory deleted
        assertThrows(ReplicaException.class, () -> replicas.partition(tp));
        assertFalse(Files.exists(dir.resolve("t-0")));

        // When it is moved back here, it opens an empty log as a follower of node 2
        MetadataImage back = change(completed, id, List.of(NODE, 2), List.of(2), 2, 1, 3, List.of(NODE), List.of());
        replicas.onImage(completed, back);
        assertFalse(replicas.partition(tp).isLeader());
        assertEquals(0, replicas.partition(tp).log().logEndOffset());
        assertEquals(Optional.of(id), PartitionMetadataFile.read(dir.resolve("t-0")));
    }

    /** A PartitionChangeRecord that sets the replicas and the reassignment in progress, at the next offset. */
    private static MetadataImage change(MetadataImage image, UUID id, List<Integer> replicas, List<Integer> isr,
            int leader, int leaderEpoch, int partitionEpoch, List<Integer> adding, List<Integer> removing) {
        return image.apply(MetadataRecord.newBuilder().setPartitionChange(PartitionChangeRecord.newBuilder()
                .setTopicId(Uuids.toProto(id)).setPartition(0).setReplicasChanged(true).addAllReplicas(replicas)
                .addAllIsr(isr).setLeader(leader).setLeaderEpoch(leaderEpoch).setPartitionEpoch(partitionEpoch)
                .addAllAddingReplicas(adding).addAllRemovingReplicas(removing)).build(), image.offset() + 1);
    }

    private void produce(String topic, int records) throws IOException {
        PartitionId id = new PartitionId(topic, 0);
        long before = replicas.partition(id).log().logEndOffset();
        SimpleRecord[] batch = new SimpleRecord[records];
        for (int i = 0; i < records; i++) {
            batch[i] = new SimpleRecord(("v" + i).getBytes());
        }
        ByteBuffer bytes = MemoryRecords.withRecords(Compression.NONE, batch).buffer();
        replicas.appendAsLeader(id, -1, bytes, 1);
        assertEquals(before + records, replicas.partition(id).log().logEndOffset());
    }

    /** A single-replica topic led by this node, created at the next offset. */
    private static MetadataImage create(MetadataImage image, String name, UUID id, int leaderEpoch) {
        return image.apply(MetadataRecord.newBuilder().setCreateTopic(CreateTopicRecord.newBuilder()
                .setName(name).setTopicId(Uuids.toProto(id))
                .addPartitions(PartitionRecord.newBuilder().setPartition(0).addReplicas(NODE).addIsr(NODE)
                        .setLeader(NODE).setLeaderEpoch(leaderEpoch).setPartitionEpoch(0)))
                .build(), image.offset() + 1);
    }

    private static MetadataImage delete(MetadataImage image, UUID id) {
        return image.apply(MetadataRecord.newBuilder().setDeleteTopic(DeleteTopicRecord.newBuilder()
                .setTopicId(Uuids.toProto(id))).build(), image.offset() + 1);
    }
}
