package io.tributary.replication;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.tributary.metadata.MetadataImage;
import io.tributary.proto.replication.PartitionData;
import io.tributary.proto.replication.PartitionFetch;
import io.tributary.proto.replication.ReplicaFetchRequest;
import io.tributary.proto.replication.ReplicaFetchResponse;
import io.tributary.storage.LogConfig;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.SimpleRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Waiters leave when their caller gives up: an acks=all batch whose request timed out, and a long-poll fetch whose
 * max wait passed, are no longer held by the partition (the counts behind the node's waiter gauges go back to 0).
 * The follower here never fetches, so nothing is ever committed. And when waiters are woken: a consumer's by a move of
 * the high watermark; a follower's, which fetches every partition of its leader in one request, once a produce
 * request's appends to several of them are all done (as Kafka completes delayed fetches after the whole request), so
 * that one answer carries them all instead of one round trip per partition.
 */
class ReplicaManagerWaitersTest {

    private static final PartitionId TP = new PartitionId("t", 0);
    private static final PartitionId TP1 = new PartitionId("t", 1);

    @TempDir
    Path dir;
    private ReplicaManager replicas;

    @BeforeEach
    void open() throws java.io.IOException {
        replicas = new ReplicaManager(TwoBrokerImages.LEADER, dir, LogConfig.DEFAULTS, Clock.systemUTC(),
                ReplicationConfig.DEFAULTS);
        replicas.setController((topicId, partition, proposal) -> new CompletableFuture<>(), () -> 1);
        replicas.onImage(MetadataImage.EMPTY, TwoBrokerImages.ledByOne(TP.topic(), List.of(0, 1),
                List.of(TwoBrokerImages.LEADER, TwoBrokerImages.FOLLOWER)));
    }

    @AfterEach
    void close() {
        replicas.close();
    }

    @Test
    void anAcksAllBatchWhoseRequestTimedOutNoLongerWaits() throws Exception {
        CompletableFuture<Void> first = append().committed();
        CompletableFuture<Void> second = append().committed();
        assertThat(replicas.commitWaiters()).isEqualTo(2);

        // what ProduceHandler does with the request's timeout
        assertThatThrownBy(() -> first.orTimeout(50, TimeUnit.MILLISECONDS).get())
                .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(TimeoutException.class);
        // the waiter leaves in the timeout's own completion, which may run just after get() returned
        await().atMost(Duration.ofSeconds(10)).until(() -> replicas.commitWaiters() == 1);
        second.cancel(false);
        assertThat(replicas.commitWaiters()).isZero();
    }

    @Test
    void aLongPollPastItsMaxWaitNoLongerWaits() throws Exception {
        long highWatermark = replicas.partition(TP).highWatermark();
        CompletableFuture<Void> poll = replicas.awaitAppend(Map.of(TP, highWatermark), 50);
        CompletableFuture<Void> other = replicas.awaitAppend(Map.of(TP, highWatermark), 60_000);
        assertThat(replicas.fetchWaiters()).isEqualTo(2);

        poll.get(10, TimeUnit.SECONDS); // completes (empty) at its max wait
        await().atMost(Duration.ofSeconds(10)).until(() -> replicas.fetchWaiters() == 1);
        other.cancel(false);
        assertThat(replicas.fetchWaiters()).isZero();
        // and the partition's entry left with its last waiter: the map does not keep every partition ever fetched
        assertThat(replicas.watchedPartitions()).isZero();
    }

    @Test
    void aConsumersLongPollWakesWhenTheHighWatermarkMovesNotOnEveryAppend() throws Exception {
        Partition p = replicas.partition(TP);
        long highWatermark = p.highWatermark();
        CompletableFuture<Void> poll = replicas.awaitAppend(Map.of(TP, highWatermark), 60_000);
        CompletableFuture<Void> followerWait = replicas.await(Map.of(TP, p.replicaLog().logEndOffset()), 60_000,
                q -> q.replicaLog().logEndOffset());

        // An acks=all append on [1, 2] leaves the high watermark in place: the follower's fetch wakes, the poll not
        append();
        followerWait.get(10, TimeUnit.SECONDS);
        assertThat(p.highWatermark()).isEqualTo(highWatermark);
        assertThat(poll).as("nothing new for a consumer").isNotDone();

        // The follower's fetch at the new end moves the high watermark: now the poll wakes
        followerFetch(0, List.of(TP)).get(10, TimeUnit.SECONDS);
        assertThat(p.highWatermark()).isGreaterThan(highWatermark);
        poll.get(10, TimeUnit.SECONDS);
    }

    @Test
    void aWaitingFollowerFetchIsAnsweredOnceWithEveryPartitionOfTheRequest() throws Exception {
        CompletableFuture<ReplicaFetchResponse> fetch = followerFetch(60_000, List.of(TP, TP1));
        assertThat(fetch).as("nothing to fetch yet").isNotDone();

        List<Partition> appended = new ArrayList<>();
        replicas.appendAsLeader(TP, -1, batch(), 1, appended);
        replicas.appendAsLeader(TP1, -1, batch(), 1, appended);
        assertThat(fetch).as("woken only once the whole request is appended").isNotDone();
        replicas.wakeAfterAppends(appended);

        assertThat(recordsPerPartition(fetch.get(10, TimeUnit.SECONDS))).containsExactly(1, 1);
    }

    @Test
    void aSingleAppendWakesAtOnce() throws Exception {
        CompletableFuture<ReplicaFetchResponse> fetch = followerFetch(60_000, List.of(TP, TP1));
        replicas.appendAsLeader(TP, -1, batch(), 1);
        replicas.appendAsLeader(TP1, -1, batch(), 1);
        // the fetch was answered by the first append, with that partition alone
        assertThat(recordsPerPartition(fetch.get(10, TimeUnit.SECONDS))).containsExactly(1, 0);
    }

    /** The follower's fetch of {@code partitions} from the end of the leader's log (where it caught up to). */
    private CompletableFuture<ReplicaFetchResponse> followerFetch(int maxWaitMs, List<PartitionId> partitions) {
        long followerEpoch = replicas.image().brokers().get(TwoBrokerImages.FOLLOWER).brokerEpoch();
        ReplicaFetchRequest.Builder request = ReplicaFetchRequest.newBuilder()
                .setReplicaId(TwoBrokerImages.FOLLOWER).setBrokerEpoch(followerEpoch).setMaxWaitMs(maxWaitMs)
                .setMaxBytes(1 << 20);
        for (PartitionId id : partitions) {
            ReplicaLog log = replicas.partition(id).replicaLog();
            request.addPartitions(PartitionFetch.newBuilder().setTopic(id.topic()).setPartition(id.partition())
                    .setFetchOffset(log.logEndOffset()).setLastFetchedEpoch(log.latestEpoch().orElse(-1))
                    .setCurrentLeaderEpoch(1));
        }
        return new ReplicationService(replicas).handle(request.build());
    }

    /** Records in the answer for partitions 0 and 1, in that order. */
    private static List<Integer> recordsPerPartition(ReplicaFetchResponse response) {
        int[] counts = new int[2];
        for (PartitionData p : response.getPartitionsList()) {
            MemoryRecords records = MemoryRecords.readableRecords(p.getRecords().asReadOnlyByteBuffer());
            records.records().forEach(r -> counts[p.getPartition()]++);
        }
        return List.of(counts[0], counts[1]);
    }

    private static ByteBuffer batch() {
        return MemoryRecords.withRecords(Compression.NONE, new SimpleRecord("a".getBytes())).buffer();
    }

    private AppendOutcome append() {
        return replicas.appendAsLeader(TP, -1, batch(), -1);
    }
}
