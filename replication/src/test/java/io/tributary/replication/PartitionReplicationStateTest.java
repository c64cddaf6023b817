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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.SimpleRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The replication core of one partition over a real log: the high watermark over the maximal ISR against a naive
 * oracle, min ISR, acks=all waiters and their epochs, ISR shrink/expand decisions and the controller's answers,
 * broker-epoch checks on follower fetches and stale fetch answers, driven with explicit time.
 */
class PartitionReplicationStateTest {

    private static final int LOCAL = 1;
    private static final long LAG_MS = 1_000;
    private static final Map<Integer, BrokerRegistration> BROKERS = Map.of(
            1, broker(1), 2, broker(2), 3, broker(3));

    @TempDir
    Path dir;

    private PartitionLog log;

    @AfterEach
    void close() throws IOException {
        if (log != null) {
            log.close();
        }
    }

    private static BrokerRegistration broker(int id) {
        return new BrokerRegistration(id, "inc-" + id, 100 + id, List.of(), "", false);
    }

    private Partition leader(List<Integer> replicas, List<Integer> isr, int minIsr) throws IOException {
        log = PartitionLog.open(dir.resolve("t-0"), LogConfig.DEFAULTS, Clock.systemUTC());
        Partition p = new Partition(new PartitionId("t", 0), new UUID(1, 1), log,
                new PartitionImage(0, replicas, isr, -1, -1, 0), LOCAL, minIsr);
        p.becomeLeader(new PartitionImage(0, replicas, isr, LOCAL, 1, 1), 0).run();
        return p;
    }

    private static ByteBuffer batch() {
        return MemoryRecords.withRecords(Compression.NONE, new SimpleRecord("v".getBytes())).buffer();
    }

    private static CompletableFuture<Void> produce(Partition p, int acks) throws IOException {
        return p.appendAsLeader(batch(), -1, acks).committed();
    }

    private static FetchAnswer fetch(Partition p, int replica, long offset, long nowMs) throws IOException {
        Completions done = new Completions();
        FetchAnswer answer = p.onFollowerFetch(new FollowerFetch(replica, 100 + replica, offset,
                offset == 0 ? -1 : 1, p.leaderEpoch()), BROKERS, 1 << 20, true, nowMs, done);
        done.run();
        return answer;
    }

    private static ReplicaError errorOf(CompletableFuture<Void> f) {
        try {
            f.join();
            return null;
        } catch (CompletionException e) {
            return ((ReplicaException) e.getCause()).error();
        }
    }

    @Test
    void highWatermarkIsTheMinimumLogEndOffsetOverTheIsrAndCompletesWaiters() throws IOException {
        Partition p = leader(List.of(1, 2, 3), List.of(1, 2, 3), 2);
        produce(p, 1);
        produce(p, 1);
        CompletableFuture<Void> acks = produce(p, -1);
        assertThat(p.highWatermark()).as("followers' positions unknown").isZero();
        assertThat(acks).isNotDone();

        fetch(p, 2, 3, 10);
        fetch(p, 3, 1, 10);
        assertThat(p.highWatermark()).isEqualTo(1);
        assertThat(acks).isNotDone();
        fetch(p, 3, 3, 20);
        assertThat(p.highWatermark()).isEqualTo(3);
        assertThat(acks).isCompleted();
        assertThat(errorOf(acks)).isNull();
    }

    @Test
    void aFollowerTakesTheLeadersHighWatermarkCappedAtItsLogEndAndReportsItsLag() throws IOException {
        log = PartitionLog.open(dir.resolve("t-0"), LogConfig.DEFAULTS, Clock.systemUTC());
        Partition p = new Partition(new PartitionId("t", 0), new UUID(1, 1), log,
                new PartitionImage(0, List.of(1, 2), List.of(1, 2), -1, -1, 0), LOCAL, 1);
        p.becomeFollower(new PartitionImage(0, List.of(1, 2), List.of(1, 2), 2, 1, 1)).run();
        assertThat(p.followerLag()).as("before any fetch").isZero();
        FetchAnswer answer = new FetchAnswer(ReplicaFetchError.NONE, 5, 0, null, ByteBuffer.allocate(0));
        assertThat(p.applyFetch(2, 1, 0, answer)).isEqualTo(Partition.Applied.APPLIED);
        assertThat(p.followerLag()).isEqualTo(5);
        assertThat(p.highWatermark()).as("capped at the log end").isZero();
    }

    @Test
    void aFetchAnswerIsAppliedOnlyIfTheFetchStateStillMatches() throws IOException {
        log = PartitionLog.open(dir.resolve("t-0"), LogConfig.DEFAULTS, Clock.systemUTC());
        Partition p = new Partition(new PartitionId("t", 0), new UUID(1, 1), log,
                new PartitionImage(0, List.of(1, 2), List.of(1, 2), -1, -1, 0), LOCAL, 1);
        p.becomeFollower(new PartitionImage(0, List.of(1, 2), List.of(1, 2), 2, 1, 1)).run();
        FetchAnswer answer = new FetchAnswer(ReplicaFetchError.NONE, 0, 0, null, stamped(0, 1));
        assertThat(p.applyFetch(3, 1, 0, answer)).as("another leader").isEqualTo(Partition.Applied.STALE);
        assertThat(p.applyFetch(2, 0, 0, answer)).as("an older epoch").isEqualTo(Partition.Applied.STALE);
        assertThat(p.applyFetch(2, 1, 7, answer)).as("another fetch offset").isEqualTo(Partition.Applied.STALE);
        p.becomeLeader(new PartitionImage(0, List.of(1, 2), List.of(1, 2), LOCAL, 2, 2), 0).run();
        assertThat(p.applyFetch(2, 1, 0, answer)).as("now the leader").isEqualTo(Partition.Applied.STALE);
        assertThat(log.logEndOffset()).isZero();
    }

    private static ByteBuffer stamped(long baseOffset, int epoch) {
        MemoryRecords records = MemoryRecords.withRecords(baseOffset, Compression.NONE, epoch,
                new SimpleRecord("f".getBytes()));
        return records.buffer();
    }

    @Test
    void aSingleReplicaCommitsOnAppend() throws IOException {
        Partition p = leader(List.of(1), List.of(1), 1);
        CompletableFuture<Void> acks = produce(p, -1);
        assertThat(p.highWatermark()).isEqualTo(1);
        assertThat(acks).isCompleted();
    }

    @Test
    void leadershipLossFailsPendingAcksWaiters() throws IOException {
        Partition p = leader(List.of(1, 2), List.of(1, 2), 1);
        CompletableFuture<Void> acks = produce(p, -1);
        assertThat(acks).isNotDone();
        p.becomeFollower(new PartitionImage(0, List.of(1, 2), List.of(2), 2, 2, 2)).run();
        assertThat(errorOf(acks)).isEqualTo(ReplicaError.NOT_LEADER_OR_FOLLOWER);
        assertThat(p.isLeader()).isFalse();
    }

    @Test
    void aNewLeaderEpochOnTheSameNodeFailsTheWaitersOfTheOldOne() throws IOException {
        Partition p = leader(List.of(1, 2), List.of(1, 2), 1);
        CompletableFuture<Void> acks = produce(p, -1);
        p.becomeLeader(new PartitionImage(0, List.of(1, 2), List.of(1, 2), LOCAL, 2, 2), 0).run();
        assertThat(errorOf(acks)).isEqualTo(ReplicaError.NOT_LEADER_OR_FOLLOWER);
    }

    @Test
    void theHighWatermarkWaitsForAMemberWhoseAdditionIsInFlight() throws IOException {
        // Given ISR [1, 2], follower 3 caught up to the high watermark and about to join.
        Partition p = leader(List.of(1, 2, 3), List.of(1, 2), 2);
        produce(p, 1);
        fetch(p, 2, 1, 10);
        fetch(p, 3, 1, 10);
        assertThat(p.highWatermark()).isEqualTo(1);
        Optional<IsrProposal> expand = p.isrChange(BROKERS, 20, LAG_MS);
        assertThat(expand.map(IsrProposal::isr)).contains(List.of(1, 2, 3));
        assertThat(p.maximalIsr()).containsExactlyInAnyOrder(1, 2, 3);

        // When the leader appends and only follower 2 fetches it
        CompletableFuture<Void> acks = produce(p, -1);
        fetch(p, 2, 2, 30);

        // Then the high watermark stays at follower 3's end: once the addition commits, 3 has every committed record.
        assertThat(p.highWatermark()).isEqualTo(1);
        assertThat(acks).isNotDone();
        fetch(p, 3, 2, 40);
        assertThat(p.highWatermark()).isEqualTo(2);
        assertThat(acks).isCompleted();
    }

    @Test
    void theHighWatermarkNeverMovesWhileTheIsrIsBelowMinIsrAndWaitersFailAfterAppend() throws IOException {
        Partition p = leader(List.of(1, 2, 3), List.of(1, 2, 3), 2);
        CompletableFuture<Void> acks = produce(p, -1);
        // The controller removes both followers (fenced): the ISR is the leader alone.
        p.becomeLeader(new PartitionImage(0, List.of(1, 2, 3), List.of(1), LOCAL, 1, 2), 100).run();
        assertThat(errorOf(acks)).isEqualTo(ReplicaError.NOT_ENOUGH_REPLICAS_AFTER_APPEND);
        assertThat(p.highWatermark()).isZero();
        assertThatThrownBy(() -> produce(p, -1)).isInstanceOf(ReplicaException.class)
                .extracting(e -> ((ReplicaException) e).error()).isEqualTo(ReplicaError.NOT_ENOUGH_REPLICAS);
        produce(p, 1);
        assertThat(p.highWatermark()).as("acks=1 appends do not commit below min ISR either").isZero();
    }

    @Test
    void aFetchWithAStaleBrokerEpochIsRefusedAndMovesNothing() throws IOException {
        Partition p = leader(List.of(1, 2), List.of(1, 2), 1);
        produce(p, 1);
        Completions done = new Completions();
        FetchAnswer answer = p.onFollowerFetch(new FollowerFetch(2, 999, 1, 1, 1), BROKERS, 1 << 20, true, 10,
                done);
        assertThat(answer.error()).isEqualTo(ReplicaFetchError.STALE_BROKER_EPOCH);
        FetchAnswer stranger = p.onFollowerFetch(new FollowerFetch(7, 107, 1, 1, 1), BROKERS, 1 << 20, true, 10,
                done);
        assertThat(stranger.error()).isEqualTo(ReplicaFetchError.NOT_IN_REPLICAS);
        assertThat(p.highWatermark()).isZero();
    }

    @Test
    void laggingFollowersLeaveTheIsrAndCaughtUpOnesRejoin() throws IOException {
        Partition p = leader(List.of(1, 2, 3), List.of(1, 2, 3), 1);
        produce(p, 1);
        fetch(p, 2, 1, 100);
        fetch(p, 3, 0, 100);
        assertThat(p.isrChange(BROKERS, 500, LAG_MS)).as("within the lag time").isEmpty();

        // Follower 2 keeps fetching at the end; follower 3 never catches up.
        fetch(p, 2, 1, 1_400);
        Optional<IsrProposal> shrink = p.isrChange(BROKERS, 1_500, LAG_MS);
        assertThat(shrink.map(IsrProposal::isr)).contains(List.of(1, 2));
        assertThat(p.isrChange(BROKERS, 1_600, LAG_MS)).as("one change in flight at a time").isEmpty();
        p.onIsrChangeResult(shrink.get(), IsrChangeResult.COMMITTED, 1_600, 500).run();

        // The image with the shrink settles it; follower 3 then catches up and asks back in.
        p.becomeLeader(new PartitionImage(0, List.of(1, 2, 3), List.of(1, 2), LOCAL, 1, 2), 1_700).run();
        assertThat(p.pendingIsrChange()).isEmpty();
        fetch(p, 3, 1, 1_800);
        assertThat(p.isrChange(BROKERS, 1_900, LAG_MS).map(IsrProposal::isr)).contains(List.of(1, 2, 3));
    }

    @Test
    void onlyARefusalDropsTheChangeInFlightOthersAreRetried() throws IOException {
        Partition p = leader(List.of(1, 2, 3), List.of(1, 2), 1);
        produce(p, 1);
        fetch(p, 2, 1, 10);
        fetch(p, 3, 1, 10);
        IsrProposal expand = p.isrChange(BROKERS, 20, LAG_MS).orElseThrow();

        p.onIsrChangeResult(expand, IsrChangeResult.UNKNOWN, 30, 500).run();
        assertThat(p.maximalIsr()).as("maybe committed: still counted").contains(3);
        assertThat(p.isrChange(BROKERS, 100, LAG_MS)).as("before the backoff").isEmpty();
        assertThat(p.isrChange(BROKERS, 600, LAG_MS)).as("the same proposal again").containsSame(expand);

        p.onIsrChangeResult(expand, IsrChangeResult.STALE, 610, 500).run();
        assertThat(p.maximalIsr()).as("another change committed, maybe this one").contains(3);

        p.onIsrChangeResult(expand, IsrChangeResult.REFUSED, 620, 500).run();
        assertThat(p.pendingIsrChange()).isEmpty();
        assertThat(p.maximalIsr()).containsExactlyInAnyOrder(1, 2);
    }

    /**
     * Oracle: the high watermark equals the largest min(LEO over the maximal ISR) seen so far, with random appends,
     * fetches and ISR changes in flight settled at random.
     */
    @Test
    void highWatermarkMatchesANaiveOracleOverRandomEvents() throws IOException {
        long seed = new Random().nextLong();
        Random random = new Random(seed);
        Partition p = leader(List.of(1, 2, 3), List.of(1, 2, 3), 1);
        Map<Integer, Long> followerEnd = new HashMap<>();
        long highWatermark = 0;
        List<Long> seen = new ArrayList<>();
        for (int step = 0; step < 500; step++) {
            switch (random.nextInt(5)) {
                case 0, 1 -> produce(p, 1);
                case 2 -> p.isrChange(BROKERS, step, 3);
                case 3 -> p.pendingIsrChange().ifPresent(change ->
                        p.onIsrChangeResult(change, IsrChangeResult.REFUSED, 0, 0).run());
                default -> {
                    int follower = 2 + random.nextInt(2);
                    long position = Math.min(log.logEndOffset(),
                            followerEnd.getOrDefault(follower, 0L) + random.nextInt(3));
                    followerEnd.put(follower, position);
                    fetch(p, follower, position, step);
                }
            }
            long naive = log.logEndOffset();
            for (int member : p.maximalIsr()) {
                if (member != LOCAL) {
                    naive = Math.min(naive, followerEnd.getOrDefault(member, -1L));
                }
            }
            highWatermark = Math.max(highWatermark, naive);
            seen.add(p.highWatermark());
            assertThat(p.highWatermark()).as("seed %d step %d", seed, step).isEqualTo(highWatermark);
        }
        assertThat(seen).isSorted();
    }
}
