package io.tributary.node.group;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tributary.metadata.MetadataImage;
import io.tributary.replication.PartitionId;
import io.tributary.replication.ReplicaManager;
import io.tributary.replication.ReplicationConfig;
import io.tributary.storage.LogConfig;
import io.tributary.storage.LogError;
import io.tributary.storage.LogException;
import io.tributary.storage.PartitionLog;
import io.tributary.storage.internal.KafkaRecords;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.message.OffsetFetchRequestData;
import org.apache.kafka.common.message.OffsetFetchResponseData;
import org.apache.kafka.common.message.TxnOffsetCommitResponseData;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TxnOffsetCommit through {@link GroupService} on a real replica manager: the records go to {@code __consumer_offsets}
 * as a transactional batch of the producer (the partition's producer state holds the transaction open), stay pending
 * until the marker is reported, and a load rebuilds pending and committed offsets from transactional batches and
 * markers (written with {@link ReplicaManager#appendTransactionMarker}), also when markers land during the load.
 */
class GroupServiceTxnOffsetsTest {

    private static final PartitionId OFFSETS_0 = new PartitionId(GroupService.TOPIC, 0);
    private static final TopicPartition T0 = new TopicPartition("t", 0);
    private static final TopicPartition T1 = new TopicPartition("t", 1);

    @TempDir
    Path dir;
    private ReplicaManager replicas;
    private MetadataImage image;
    private final List<GroupService> services = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (GroupService s : services) {
            s.close();
        }
        if (replicas != null) {
            replicas.close();
        }
    }

    private void startReplicas() throws Exception {
        replicas = new ReplicaManager(1, dir, LogConfig.DEFAULTS, Clock.systemUTC(), ReplicationConfig.DEFAULTS);
        image = GroupServiceLoadTest.singleNodeWithOffsetsTopic(1 << 20);
        replicas.onImage(MetadataImage.EMPTY, image);
    }

    /** A coordinator node's group service that loads partition 0 (a fail-over to it). */
    private GroupService loadedService() {
        GroupService groups = new GroupService(1, replicas, GroupCoordinatorConfig.defaults(),
                System::currentTimeMillis, 1);
        services.add(groups);
        groups.onImage(MetadataImage.EMPTY, image);
        await().atMost(Duration.ofSeconds(30)).until(() -> groups.lastLoad(0).isPresent());
        return groups;
    }

    @Test
    void aLoadKeepsOpenTransactionsPendingAndAppliesTheCommittedOnesAtTheirMarkers() throws Exception {
        // Given a partition with a regular commit, then transactions of producers 7 (committed), 8 (open),
        // 9 (aborted) and 10 (open, another group)
        startReplicas();
        long now = System.currentTimeMillis();
        appendRegular(new GroupRecord.OffsetCommitRecord("g", "t", 0, 5, -1, "", now));
        appendTxn(7, new GroupRecord.OffsetCommitRecord("g", "t", 0, 9, -1, "", now),
                new GroupRecord.OffsetCommitRecord("g", "t", 1, 4, -1, "", now));
        appendTxn(8, new GroupRecord.OffsetCommitRecord("g", "t", 1, 6, -1, "", now));
        marker(7, true);
        appendTxn(9, new GroupRecord.OffsetCommitRecord("g", "t", 0, 100, -1, "", now));
        marker(9, false);
        appendTxn(10, new GroupRecord.OffsetCommitRecord("h", "t", 0, 3, -1, "", now));
        assertThat(replicas.partition(OFFSETS_0).log().producerState().ongoingTransactions()).isEqualTo(2);

        // When a coordinator loads it
        GroupService groups = loadedService();

        // Then 7's offsets are committed, 9's gone, and 8's and 10's pending
        assertThat(groups.snapshot().get().get("g").committedOffsets()).isEqualTo(Map.of(T0, 9L, T1, 4L));
        assertThat(fetch(groups, "g", true)).containsExactly("9", "UNSTABLE_OFFSET_COMMIT");
        assertThat(fetch(groups, "g", false)).containsExactly("9", "4");
        assertThat(fetch(groups, "h", true)).containsExactly("UNSTABLE_OFFSET_COMMIT", "-1");

        // and the markers reported afterwards complete them
        marker(8, true);
        groups.onTransactionCompleted(0, 8, true);
        marker(10, false);
        groups.onTransactionCompleted(0, 10, false);
        await().atMost(Duration.ofSeconds(10)).until(() -> fetch(groups, "g", true).equals(List.of("9", "6")));
        assertThat(fetch(groups, "h", true)).containsExactly("-1", "-1");
    }

    @Test
    void aTransactionalCommitIsTheProducersTransactionInTheLogAndVisibleOnlyOnceItsCommitIsReported()
            throws Exception {
        startReplicas();
        GroupService groups = loadedService();
        PartitionLog log = replicas.partition(OFFSETS_0).log();

        // When producer 7 (epoch 1) commits offsets in its transaction through the coordinator
        TxnOffsetCommitResponseData response = txnCommit(groups, 7, (short) 1, 12L).get();

        // Then the log holds its transaction open from the batch, and the offset is pending
        assertThat(response.topics().get(0).partitions().get(0).errorCode()).isZero();
        assertThat(log.firstUnstableOffset()).isPresent();
        assertThat(log.producerState().entry(7).orElseThrow().producerEpoch()).isEqualTo((short) 1);
        assertThat(fetch(groups, "g", true)).containsExactly("UNSTABLE_OFFSET_COMMIT", "-1");
        assertThat(fetch(groups, "g", false)).containsExactly("-1", "-1");

        // and an older epoch of the producer is fenced by the log
        assertThat(txnCommit(groups, 7, (short) 0, 13L)).failsWithin(Duration.ofSeconds(10))
                .withThrowableOfType(ExecutionException.class).havingCause().isInstanceOfSatisfying(
                        LogException.class, e -> assertThat(e.error()).isEqualTo(LogError.INVALID_PRODUCER_EPOCH));

        // When the COMMIT marker is written and reported, the offset is committed
        marker(7, (short) 1, true);
        groups.onTransactionCompleted(0, 7, true);
        await().atMost(Duration.ofSeconds(10)).until(() -> fetch(groups, "g", true).equals(List.of("12", "-1")));
        assertThat(log.firstUnstableOffset()).isEmpty();
        // a report for a partition not coordinated here is ignored
        groups.onTransactionCompleted(5, 7, false);

        // and a successor loads the same
        assertThat(fetch(loadedService(), "g", true)).containsExactly("12", "-1");
    }

    /**
     * The coordinator thread is held at two points so that half of the markers are in the log before the load reads
     * its end (the load applies them; their reports, queued during the load, find nothing left to do) and half land
     * after it (only their reports, kept during the load and applied at its end, complete them).
     */
    @Test
    void markersWrittenAndReportedWhileThePartitionLoadsAreAllApplied() throws Exception {
        // Given a partition that takes several 1 MiB chunks to load, ending with 40 open transactions
        startReplicas();
        long now = System.currentTimeMillis();
        String metadata = "m".repeat(200);
        List<GroupRecord> batch = new ArrayList<>();
        for (int i = 0; i < 15_000; i++) {
            batch.add(new GroupRecord.OffsetCommitRecord("old", "t", i % 50, i, -1, metadata, now));
            if (batch.size() == 100) {
                appendRegular(batch.toArray(GroupRecord[]::new));
                batch.clear();
            }
        }
        int producers = 40;
        for (int p = 0; p < producers; p++) {
            appendTxn(100 + p, new GroupRecord.OffsetCommitRecord("g", "t", p, 1_000 + p, -1, "", now));
        }
        GroupService groups = new GroupService(1, replicas, GroupCoordinatorConfig.defaults(),
                System::currentTimeMillis, 1);
        services.add(groups);
        CountDownLatch hold = new CountDownLatch(1);
        CountDownLatch loading = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        groups.runOnCoordinatorThread(() -> awaitLatch(hold));
        groups.onImage(MetadataImage.EMPTY, image); // queues the shard's creation, which queues its load
        // runs after the creation, so it queues the hold just behind the load's first chunk
        groups.runOnCoordinatorThread(() -> groups.runOnCoordinatorThread(() -> {
            loading.countDown();
            awaitLatch(release);
        }));
        Map<TopicPartition, Long> expected = new HashMap<>();

        // When half of the transactions end before the load starts, and half after it read to its end
        for (int p = 0; p < producers; p++) {
            if (p == producers / 2) {
                hold.countDown();
                assertThat(loading.await(30, TimeUnit.SECONDS)).isTrue();
            }
            boolean commit = p % 3 != 0;
            marker(100 + p, commit);
            groups.onTransactionCompleted(0, 100 + p, commit);
            if (commit) {
                expected.put(new TopicPartition("t", p), 1_000L + p);
            }
        }
        assertThat(groups.lastLoad(0)).as("still loading").isEmpty();
        release.countDown();
        await().atMost(Duration.ofSeconds(30)).until(() -> groups.lastLoad(0).isPresent());

        // Then every transaction is completed as its marker says, none left pending
        assertThat(groups.lastLoad(0).orElseThrow().chunks()).isGreaterThan(1);
        assertThat(groups.snapshot().get().get("g").committedOffsets()).isEqualTo(expected);
        for (int p = 0; p < producers; p++) {
            int partition = p;
            assertThat(groups.<Boolean>call("g", c -> CompletableFuture.completedFuture(
                    c.coordinator().hasPendingTxnOffset("g", new TopicPartition("t", partition))), () -> null).get())
                    .as("t-" + p).isFalse();
        }
        // and a successor loading the whole log agrees
        assertThat(loadedService().snapshot().get().get("g").committedOffsets()).isEqualTo(expected);
    }

    private static void awaitLatch(CountDownLatch latch) {
        try {
            if (!latch.await(30, TimeUnit.SECONDS)) {
                throw new AssertionError("latch not released");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private CompletableFuture<TxnOffsetCommitResponseData> txnCommit(GroupService groups, long producerId,
            short epoch, long offset) {
        return groups.call("g", c -> {
            TxnOffsetCommitDecision d = c.coordinator().commitTransactionalOffsets(
                    GroupCoordinatorTxnOffsetsTest.txnCommit("g", producerId, -1, "", 0, offset)
                            .setProducerEpoch(epoch), (short) 4, tp -> true, c.nowMs());
            return c.persistTransactional(d.records(), d.producerId(), d.producerEpoch()).thenApply(v -> d.response());
        }, () -> null);
    }

    /** OffsetFetch v8 of t-0 and t-1: "offset" or the error's name per partition. */
    private static List<String> fetch(GroupService groups, String group, boolean requireStable) throws Exception {
        OffsetFetchRequestData req = new OffsetFetchRequestData().setRequireStable(requireStable).setGroups(List.of(
                new OffsetFetchRequestData.OffsetFetchRequestGroup().setGroupId(group).setTopics(List.of(
                        new OffsetFetchRequestData.OffsetFetchRequestTopics().setName("t")
                                .setPartitionIndexes(List.of(0, 1))))));
        OffsetFetchResponseData r = groups.<OffsetFetchResponseData>call(group,
                c -> CompletableFuture.completedFuture(c.coordinator().fetchOffsets(req, (short) 8)), () -> null)
                .get();
        List<String> answers = new ArrayList<>();
        r.groups().get(0).topics().get(0).partitions().forEach(p -> answers.add(p.errorCode() != 0
                ? Errors.forCode(p.errorCode()).name() : Long.toString(p.committedOffset())));
        return answers;
    }

    private void appendRegular(GroupRecord... records) {
        List<byte[]> keys = new ArrayList<>();
        List<byte[]> values = new ArrayList<>();
        for (GroupRecord r : records) {
            GroupRecordCodec.Encoded e = GroupRecordCodec.encode(r);
            keys.add(e.key());
            values.add(e.value());
        }
        replicas.appendAsLeader(OFFSETS_0, -1, KafkaRecords.batchOf(keys, values, System.currentTimeMillis()), 1);
    }

    private void appendTxn(long producerId, GroupRecord... records) {
        List<byte[]> keys = new ArrayList<>();
        List<byte[]> values = new ArrayList<>();
        for (GroupRecord r : records) {
            GroupRecordCodec.Encoded e = GroupRecordCodec.encode(r);
            keys.add(e.key());
            values.add(e.value());
        }
        replicas.appendAsLeader(OFFSETS_0, -1, KafkaRecords.transactionalBatchOf(keys, values,
                System.currentTimeMillis(), producerId, (short) 0, KafkaRecords.NO_SEQUENCE), 1);
    }

    private void marker(long producerId, boolean commit) throws Exception {
        marker(producerId, (short) 0, commit);
    }

    private void marker(long producerId, short epoch, boolean commit) throws Exception {
        replicas.appendTransactionMarker(OFFSETS_0, producerId, epoch, 0, commit).committed().get();
    }
}
