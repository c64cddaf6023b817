package io.tributary.replication;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tributary.metadata.BrokerRegistration;
import io.tributary.metadata.PartitionImage;
import io.tributary.proto.replication.ReplicaFetchError;
import io.tributary.storage.LogConfig;
import io.tributary.storage.PartitionLog;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.SimpleRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DeleteRecords in the replication core (Kafka's {@code Partition.deleteRecordsOnLeader} and
 * {@code DelayedDeleteRecords}): the leader moves its log start offset and answers once every in-sync replica's log
 * start offset (carried by its fetches) has reached it; followers take the leader's log start offset from every
 * fetch answer, never past their own high watermark.
 */
class PartitionDeleteRecordsTest {

    private static final int LOCAL = 1;
    private static final Map<Integer, BrokerRegistration> BROKERS = Map.of(1, broker(1), 2, broker(2), 3, broker(3));

    @TempDir
    Path dir;

    private PartitionLog log;
    private PartitionLog other;

    @AfterEach
    void close() throws IOException {
        if (log != null) {
            log.close();
        }
        if (other != null) {
            other.close();
        }
    }

    private static BrokerRegistration broker(int id) {
        return new BrokerRegistration(id, "inc-" + id, 100 + id, List.of(), "", false);
    }

    private static ByteBuffer batch() {
        return MemoryRecords.withRecords(Compression.NONE, new SimpleRecord("v".getBytes())).buffer();
    }

    /** A leader of replicas 1-3 (ISR all) with {@code records} one-record batches, all committed. */
    private Partition leaderWith(int records) throws IOException {
        log = PartitionLog.open(dir.resolve("t-0"), LogConfig.DEFAULTS, Clock.systemUTC());
        Partition p = new Partition(new PartitionId("t", 0), new UUID(1, 1), log,
                new PartitionImage(0, List.of(1, 2, 3), List.of(1, 2, 3), -1, -1, 0), LOCAL, 2);
        p.becomeLeader(new PartitionImage(0, List.of(1, 2, 3), List.of(1, 2, 3), LOCAL, 1, 1), 0).run();
        for (int i = 0; i < records; i++) {
            p.appendAsLeader(batch(), -1, 1);
        }
        fetch(p, 2, records, 0, 10);
        fetch(p, 3, records, 0, 10);
        assertThat(p.highWatermark()).isEqualTo(records);
        return p;
    }

    private static FetchAnswer fetch(Partition p, int replica, long offset, long logStartOffset, long nowMs)
            throws IOException {
        Completions done = new Completions();
        FetchAnswer answer = p.onFollowerFetch(new FollowerFetch(replica, 100 + replica, offset, offset == 0 ? -1 : 1,
                p.leaderEpoch(), logStartOffset), BROKERS, 1 << 20, true, nowMs, done);
        done.run();
        return answer;
    }

    private static ReplicaError errorOf(CompletableFuture<Long> f) {
        try {
            f.join();
            return null;
        } catch (CompletionException e) {
            return ((ReplicaException) e.getCause()).error();
        }
    }

    @Test
    void theLeaderMovesItsStartAndAnswersOnceEveryIsrMembersStartReachedIt() throws IOException {
        // Given a committed log of 10 records on three in-sync replicas
        Partition p = leaderWith(10);

        // When records before 6 are deleted
        CompletableFuture<Long> deleted = p.deleteRecords(6);

        // Then the leader's start moved at once, and the answer waits for both followers to report theirs
        assertThat(log.logStartOffset()).isEqualTo(6);
        assertThat(fetch(p, 2, 10, 0, 20).logStartOffset()).as("the fetch answer carries it").isEqualTo(6);
        assertThat(deleted).isNotDone();
        fetch(p, 2, 10, 6, 30);
        assertThat(deleted).isNotDone();
        fetch(p, 3, 10, 6, 30);
        assertThat(deleted).isCompletedWithValue(6L);
        assertThat(p.deleteRecordsWaiterCount()).isZero();
    }

    @Test
    void minusOneMeansTheHighWatermarkAndALowerOffsetAnswersTheCurrentLowWatermark() throws IOException {
        Partition p = leaderWith(4);
        fetch(p, 2, 4, 3, 20);
        fetch(p, 3, 4, 3, 20);
        p.deleteRecords(3);

        assertThat(p.deleteRecords(1)).as("no change").isCompletedWithValue(3L);
        assertThat(log.logStartOffset()).isEqualTo(3);
        CompletableFuture<Long> all = p.deleteRecords(Partition.DELETE_UP_TO_HIGH_WATERMARK);
        assertThat(log.logStartOffset()).isEqualTo(4);
        fetch(p, 2, 4, 4, 30);
        fetch(p, 3, 4, 4, 30);
        assertThat(all).isCompletedWithValue(4L);
    }

    @Test
    void anOffsetAboveTheHighWatermarkOrNotLeadingIsRefusedAndNothingMoves() throws IOException {
        Partition p = leaderWith(3);
        p.appendAsLeader(batch(), -1, 1); // offset 3, not committed

        assertThatThrownBy(() -> p.deleteRecords(4)).isInstanceOfSatisfying(ReplicaException.class,
                e -> assertThat(e.error()).isEqualTo(ReplicaError.OFFSET_OUT_OF_RANGE));
        assertThatThrownBy(() -> p.deleteRecords(-2)).isInstanceOfSatisfying(ReplicaException.class,
                e -> assertThat(e.error()).isEqualTo(ReplicaError.OFFSET_OUT_OF_RANGE));
        assertThat(log.logStartOffset()).isZero();

        p.becomeFollower(new PartitionImage(0, List.of(1, 2, 3), List.of(2, 3), 2, 2, 2)).run();
        assertThatThrownBy(() -> p.deleteRecords(1)).isInstanceOfSatisfying(ReplicaException.class,
                e -> assertThat(e.error()).isEqualTo(ReplicaError.NOT_LEADER_OR_FOLLOWER));
    }

    @Test
    void aWaiterFailsOnALeaderChangeCompletesWhenTheIsrShrinksAndLeavesOnTimeout() throws IOException {
        Partition p = leaderWith(5);
        fetch(p, 2, 5, 0, 20);
        CompletableFuture<Long> lost = p.deleteRecords(2);
        p.becomeLeader(new PartitionImage(0, List.of(1, 2, 3), List.of(1, 2, 3), LOCAL, 2, 2), 30).run();
        assertThat(errorOf(lost)).isEqualTo(ReplicaError.NOT_LEADER_OR_FOLLOWER);

        fetch(p, 2, 5, 2, 40);
        CompletableFuture<Long> shrunk = p.deleteRecords(3);
        fetch(p, 2, 5, 3, 50);
        assertThat(shrunk).as("replica 3 has not reported").isNotDone();
        p.becomeLeader(new PartitionImage(0, List.of(1, 2, 3), List.of(1, 2), LOCAL, 2, 3), 60).run();
        assertThat(shrunk).as("replica 3 left the ISR").isCompletedWithValue(3L);

        CompletableFuture<Long> timedOut = p.deleteRecords(4);
        timedOut.completeExceptionally(new TimeoutException());
        assertThat(p.deleteRecordsWaiterCount()).isZero();
    }

    @Test
    void aFollowerTakesTheLeadersStartButNeverPastItsOwnHighWatermarkAndKeepsItAcrossReopen() throws IOException {
        // Given a leader's log of 6 batches, and a follower replica of it
        other = PartitionLog.open(dir.resolve("leader"), LogConfig.DEFAULTS, Clock.systemUTC());
        for (int i = 0; i < 6; i++) {
            other.append(batch(), 1);
        }
        log = PartitionLog.open(dir.resolve("t-0"), LogConfig.DEFAULTS, Clock.systemUTC());
        Partition p = new Partition(new PartitionId("t", 0), new UUID(1, 1), log,
                new PartitionImage(0, List.of(1, 2), List.of(1, 2), -1, -1, 0), LOCAL, 1);
        p.becomeFollower(new PartitionImage(0, List.of(1, 2), List.of(1, 2), 2, 1, 1)).run();
        ByteBuffer records = other.read(0, 1 << 20, Long.MAX_VALUE).records();

        // When the answer brings all 6 records, the leader's HW 3 and its log start 5
        assertThat(p.applyFetch(2, 1, 0, new FetchAnswer(ReplicaFetchError.NONE, 3, 5, null, records)))
                .isEqualTo(Partition.Applied.APPLIED);

        // Then the follower's start moves only to its high watermark, 3
        assertThat(p.highWatermark()).isEqualTo(3);
        assertThat(log.logStartOffset()).isEqualTo(3);

        // And the next answer (HW 6) takes it to the leader's 5, which survives a reopen
        p.applyFetch(2, 1, 6, new FetchAnswer(ReplicaFetchError.NONE, 6, 5, null, ByteBuffer.allocate(0)));
        assertThat(log.logStartOffset()).isEqualTo(5);
        log.close();
        log = PartitionLog.open(dir.resolve("t-0"), LogConfig.DEFAULTS, Clock.systemUTC());
        assertThat(log.logStartOffset()).isEqualTo(5);
    }
}
