package io.tributary.replication;

import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.metadata.PartitionImage;
import io.tributary.replication.log.LogConfig;
import io.tributary.replication.log.PartitionLog;
import java.io.IOException;
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
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.SimpleRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The leader's replication state of one partition: the high watermark against a naive oracle, acks=all waiters,
 * and ISR shrink/expand decisions, driven by appends and follower fetches with explicit time.
 */
class PartitionReplicationStateTest {

    private static final int LOCAL = 1;
    private static final long LAG_MS = 1_000;

    @TempDir
    Path dir;

    private PartitionLog log;

    @AfterEach
    void close() throws IOException {
        if (log != null) {
            log.close();
        }
    }

    private Partition leader(List<Integer> replicas, List<Integer> isr) throws IOException {
        log = PartitionLog.open(dir.resolve("t-0"), LogConfig.DEFAULTS, Clock.systemUTC());
        Partition p = new Partition(new PartitionId("t", 0), new UUID(1, 1), log,
                new PartitionImage(0, replicas, isr, -1, -1, 0), LOCAL, 2);
        p.becomeLeader(new PartitionImage(0, replicas, isr, LOCAL, 1, 1), 0);
        return p;
    }

    private static java.nio.ByteBuffer batch() {
        return MemoryRecords.withRecords(Compression.NONE, new SimpleRecord("v".getBytes())).buffer();
    }

    private static void completeAll(List<CompletableFuture<Void>> done) {
        done.forEach(f -> f.complete(null));
    }

    @Test
    void highWatermarkIsTheMinimumLogEndOffsetOverTheIsrAndCompletesWaiters() throws IOException {
        Partition p = leader(List.of(1, 2, 3), List.of(1, 2, 3));
        for (int i = 0; i < 3; i++) {
            log.append(batch(), 1);
            completeAll(p.onLeaderAppend());
        }
        assertThat(p.highWatermark()).as("followers' positions unknown").isZero();
        CompletableFuture<Void> acks = p.awaitHighWatermark(3);
        assertThat(acks).isNotNull().isNotDone();

        completeAll(p.onFollowerFetch(2, 3, 10));
        completeAll(p.onFollowerFetch(3, 1, 10));
        assertThat(p.highWatermark()).isEqualTo(1);
        assertThat(acks).isNotDone();
        completeAll(p.onFollowerFetch(3, 3, 20));
        assertThat(p.highWatermark()).isEqualTo(3);
        assertThat(acks).isDone();
        assertThat(p.awaitHighWatermark(3)).as("already committed").isNull();
    }

    @Test
    void followerLagIsTheLeadersHighWatermarkSeenMinusTheOwnLogEnd() throws IOException {
        log = PartitionLog.open(dir.resolve("t-0"), LogConfig.DEFAULTS, Clock.systemUTC());
        Partition p = new Partition(new PartitionId("t", 0), new UUID(1, 1), log,
                new PartitionImage(0, List.of(1, 2), List.of(1, 2), 2, 1, 1), LOCAL, 1);
        assertThat(p.followerLag()).as("before any fetch").isZero();
        p.updateFollowerHighWatermark(5);
        assertThat(p.followerLag()).isEqualTo(5);
        for (int i = 0; i < 3; i++) {
            log.append(batch(), 1);
        }
        assertThat(p.followerLag()).isEqualTo(2);
        for (int i = 0; i < 3; i++) {
            log.append(batch(), 1);
        }
        assertThat(p.followerLag()).as("ahead of the leader's high watermark").isZero();
    }

    @Test
    void aSingleReplicaCommitsOnAppend() throws IOException {
        Partition p = leader(List.of(1), List.of(1));
        log.append(batch(), 1);
        completeAll(p.onLeaderAppend());
        assertThat(p.highWatermark()).isEqualTo(1);
    }

    @Test
    void leadershipLossHandsBackPendingAcksWaiters() throws IOException {
        Partition p = leader(List.of(1, 2), List.of(1, 2));
        log.append(batch(), 1);
        completeAll(p.onLeaderAppend());
        CompletableFuture<Void> acks = p.awaitHighWatermark(1);
        assertThat(acks).isNotDone();
        List<CompletableFuture<Void>> failed = p.becomeFollower(new PartitionImage(0, List.of(1, 2), List.of(2),
                2, 2, 2));
        assertThat(failed).containsExactly(acks);
        assertThat(p.isLeader()).isFalse();
        // A follower takes the leader's high watermark, capped at its own log end.
        p.updateFollowerHighWatermark(10);
        assertThat(p.highWatermark()).isEqualTo(1);
    }

    @Test
    void laggingFollowersLeaveTheIsrAndCaughtUpOnesRejoin() throws IOException {
        Partition p = leader(List.of(1, 2, 3), List.of(1, 2, 3));
        log.append(batch(), 1);
        completeAll(p.onLeaderAppend());
        completeAll(p.onFollowerFetch(2, 1, 100));
        completeAll(p.onFollowerFetch(3, 0, 100));
        assertThat(p.isrChange(500, LAG_MS)).as("within the lag time").isEmpty();

        // Follower 2 keeps fetching at the end; follower 3 never catches up.
        completeAll(p.onFollowerFetch(2, 1, 1_400));
        Optional<List<Integer>> shrink = p.isrChange(1_500, LAG_MS);
        assertThat(shrink).contains(List.of(1, 2));
        assertThat(p.isrChange(1_600, LAG_MS)).as("one change in flight at a time").isEmpty();
        p.isrChangeDone();

        // The controller committed the shrink; follower 3 then catches up and asks back in.
        p.becomeLeader(new PartitionImage(0, List.of(1, 2, 3), List.of(1, 2), LOCAL, 1, 2), 1_700);
        completeAll(p.onFollowerFetch(3, 1, 1_800));
        assertThat(p.isrChange(1_900, LAG_MS)).contains(List.of(1, 2, 3));
    }

    /** Oracle: the high watermark equals min(LEO over the ISR), as far as positions are known, and never drops. */
    @Test
    void highWatermarkMatchesANaiveOracleOverRandomEvents() throws IOException {
        long seed = new Random().nextLong();
        Random random = new Random(seed);
        Partition p = leader(List.of(1, 2, 3), List.of(1, 2, 3));
        Map<Integer, Long> followerEnd = new HashMap<>();
        long highWatermark = 0;
        List<Long> seen = new ArrayList<>();
        for (int step = 0; step < 500; step++) {
            if (random.nextInt(3) == 0) {
                log.append(batch(), 1);
                completeAll(p.onLeaderAppend());
            } else {
                int follower = 2 + random.nextInt(2);
                long position = Math.min(log.logEndOffset(),
                        followerEnd.getOrDefault(follower, 0L) + random.nextInt(3));
                followerEnd.put(follower, position);
                completeAll(p.onFollowerFetch(follower, position, step));
            }
            long naive = log.logEndOffset();
            for (int f = 2; f <= 3; f++) {
                naive = Math.min(naive, followerEnd.getOrDefault(f, -1L));
            }
            highWatermark = Math.max(highWatermark, naive);
            seen.add(p.highWatermark());
            assertThat(p.highWatermark()).as("seed %d step %d", seed, step).isEqualTo(highWatermark);
        }
        assertThat(seen).isSorted();
    }
}
