package io.tributary.replication;

import io.tributary.metadata.PartitionImage;
import io.tributary.replication.log.PartitionLog;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * A partition replica hosted on this node: its log, its role as the metadata names it, and, while it leads, what it
 * knows of its followers (Kafka's model).
 *
 * <ul>
 *   <li>Leader: every follower fetch reports the follower's log end offset (it has everything below its fetch
 *       offset). The high watermark is the minimum log end offset over the ISR and never moves back; acks=all
 *       produces wait (without a thread) until it passes their batch. A follower that has not caught up for
 *       {@code replica.lag.time.max.ms} should leave the ISR; one that reached the high watermark should join it.
 *   <li>Follower: the high watermark is the leader's, capped at its own log end offset.
 * </ul>
 *
 * <p>Role changes come from metadata ({@link #becomeLeader}, {@link #becomeFollower}). Threads: the methods are
 * synchronized on this partition; waiters are completed outside the lock.
 */
public final class Partition {

    private final PartitionId id;
    private final UUID topicId;
    private final PartitionLog log;
    private final int localNodeId;
    private volatile PartitionImage image;
    private volatile int minInsyncReplicas;
    private volatile long highWatermark;
    /** Follower: the leader's high watermark in the last fetch response applied; -1 before any. */
    private volatile long leaderHighWatermarkSeen = -1;
    /** Leader only: follower id -> what the leader knows of it. */
    private final Map<Integer, FollowerState> followers = new HashMap<>();
    /** Leader only: acks=all produces waiting for the high watermark to pass an offset. */
    private final TreeMap<Long, List<CompletableFuture<Void>>> commitWaiters = new TreeMap<>();
    /** Leader only: the log end offset when this leader epoch began; followers join the ISR only past it. */
    private long leaderEpochStartOffset;
    /** Leader only: the partition epoch of an AlterPartition in flight, -1 if none. */
    private int isrChangeInFlightFromEpoch = -1;

    /** What a leader knows of one follower. */
    private static final class FollowerState {
        long logEndOffset = -1;
        long lastCaughtUpTimeMs;
        long lastFetchTimeMs;
        long leaderEndOffsetAtLastFetch;

        FollowerState(long nowMs) {
            this.lastCaughtUpTimeMs = nowMs;
        }
    }

    Partition(PartitionId id, UUID topicId, PartitionLog log, PartitionImage image, int localNodeId,
            int minInsyncReplicas) {
        this.id = id;
        this.topicId = topicId;
        this.log = log;
        this.image = image;
        this.localNodeId = localNodeId;
        this.minInsyncReplicas = minInsyncReplicas;
        this.highWatermark = 0;
    }

    public PartitionId id() {
        return id;
    }

    public UUID topicId() {
        return topicId;
    }

    public PartitionLog log() {
        return log;
    }

    public PartitionImage image() {
        return image;
    }

    public boolean isLeader() {
        return image.leader() == localNodeId;
    }

    public int leaderEpoch() {
        return image.leaderEpoch();
    }

    public int minInsyncReplicas() {
        return minInsyncReplicas;
    }

    void setMinInsyncReplicas(int value) {
        this.minInsyncReplicas = value;
    }

    /**
     * Follower: how far this replica's log end trails the leader's high watermark as last seen in a fetch
     * response (0 if it is level or ahead, or if this replica leads or has not fetched yet).
     */
    public long followerLag() {
        long seen = leaderHighWatermarkSeen;
        return isLeader() || seen < 0 ? 0 : Math.max(0, seen - log.logEndOffset());
    }

    /** The offset below which records are committed and visible to consumers. */
    public long highWatermark() {
        return highWatermark;
    }

    /**
     * Takes the leadership of a new image: a new leader epoch starts at the current log end offset, follower state
     * starts over (each follower gets a full lag time to fetch), and the high watermark is recomputed.
     */
    List<CompletableFuture<Void>> becomeLeader(PartitionImage next, long nowMs) {
        synchronized (this) {
            boolean newEpoch = !isLeader() || next.leaderEpoch() != image.leaderEpoch();
            image = next;
            if (newEpoch) {
                log.assignEpoch(next.leaderEpoch());
                leaderEpochStartOffset = log.logEndOffset();
                followers.clear();
                isrChangeInFlightFromEpoch = -1;
            }
            for (int replica : next.replicas()) {
                if (replica != localNodeId) {
                    followers.computeIfAbsent(replica, r -> new FollowerState(nowMs));
                }
            }
            followers.keySet().retainAll(next.replicas());
            if (isrChangeInFlightFromEpoch >= 0 && next.partitionEpoch() > isrChangeInFlightFromEpoch) {
                isrChangeInFlightFromEpoch = -1;
            }
            return advanceHighWatermark();
        }
    }

    /** Follows a new image; pending acks=all produces fail (the caller answers NOT_LEADER_OR_FOLLOWER). */
    List<CompletableFuture<Void>> becomeFollower(PartitionImage next) {
        synchronized (this) {
            if (next.leader() != image.leader() || next.leaderEpoch() != image.leaderEpoch()) {
                leaderHighWatermarkSeen = -1; // another leader's high watermark: unknown until its first answer
            }
            image = next;
            followers.clear();
            isrChangeInFlightFromEpoch = -1;
            highWatermark = Math.min(highWatermark, log.logEndOffset());
            List<CompletableFuture<Void>> failed = new ArrayList<>();
            commitWaiters.values().forEach(failed::addAll);
            commitWaiters.clear();
            return failed;
        }
    }

    /**
     * Records a follower's fetch at {@code fetchOffset} (Kafka's caught-up rule: a fetch at or past the leader's
     * log end offset now, or past the one the leader had at the follower's previous fetch, means caught up).
     */
    List<CompletableFuture<Void>> onFollowerFetch(int replicaId, long fetchOffset, long nowMs) {
        synchronized (this) {
            FollowerState follower = followers.get(replicaId);
            if (follower == null) {
                return List.of();
            }
            long leaderEnd = log.logEndOffset();
            follower.logEndOffset = Math.min(fetchOffset, leaderEnd);
            if (fetchOffset >= leaderEnd) {
                follower.lastCaughtUpTimeMs = nowMs;
            } else if (fetchOffset >= follower.leaderEndOffsetAtLastFetch) {
                follower.lastCaughtUpTimeMs = Math.max(follower.lastCaughtUpTimeMs, follower.lastFetchTimeMs);
            }
            follower.leaderEndOffsetAtLastFetch = leaderEnd;
            follower.lastFetchTimeMs = nowMs;
            return advanceHighWatermark();
        }
    }

    /** After a leader append: with no other ISR member the high watermark moves at once. */
    List<CompletableFuture<Void>> onLeaderAppend() {
        synchronized (this) {
            return advanceHighWatermark();
        }
    }

    /** Follower: the leader's high watermark, capped at what this replica has. */
    void updateFollowerHighWatermark(long leaderHighWatermark) {
        leaderHighWatermarkSeen = leaderHighWatermark;
        synchronized (this) {
            long capped = Math.min(leaderHighWatermark, log.logEndOffset());
            if (capped > highWatermark) {
                highWatermark = capped;
            }
        }
    }

    /** Follower: the log was truncated below the high watermark (divergence); cap it. */
    void onTruncate() {
        synchronized (this) {
            highWatermark = Math.min(highWatermark, log.logEndOffset());
        }
    }

    /** Leader: HW = min LEO over the ISR (never backwards). Returns the commit waiters it completes. */
    private List<CompletableFuture<Void>> advanceHighWatermark() {
        if (!isLeader()) {
            return List.of();
        }
        long candidate = log.logEndOffset();
        for (int replica : image.isr()) {
            if (replica == localNodeId) {
                continue;
            }
            FollowerState follower = followers.get(replica);
            long followerEnd = follower == null ? -1 : follower.logEndOffset;
            candidate = Math.min(candidate, followerEnd);
        }
        if (candidate <= highWatermark) {
            return List.of();
        }
        highWatermark = candidate;
        List<CompletableFuture<Void>> done = new ArrayList<>();
        Map<Long, List<CompletableFuture<Void>>> reached = commitWaiters.headMap(candidate, true);
        reached.values().forEach(done::addAll);
        reached.clear();
        return done;
    }

    /**
     * Leader: a future completed once the high watermark reaches {@code offset} (acks=all: one past the batch's
     * last offset); null if it already has.
     */
    CompletableFuture<Void> awaitHighWatermark(long offset) {
        synchronized (this) {
            if (highWatermark >= offset) {
                return null;
            }
            CompletableFuture<Void> waiter = new CompletableFuture<>();
            commitWaiters.computeIfAbsent(offset, o -> new ArrayList<>()).add(waiter);
            return waiter;
        }
    }

    /** Leader: the number of ISR members, for acks=all's min.insync.replicas check. */
    public int isrSize() {
        return image.isr().size();
    }

    /**
     * Leader: the ISR this partition should have now (followers lagging longer than {@code lagTimeMs} out,
     * followers at the high watermark and past the start of this leader epoch in), if it differs from the current
     * one and no change is in flight. Marks the change in flight.
     */
    Optional<List<Integer>> isrChange(long nowMs, long lagTimeMs) {
        synchronized (this) {
            if (!isLeader() || isrChangeInFlightFromEpoch >= 0) {
                return Optional.empty();
            }
            List<Integer> next = new ArrayList<>();
            for (int replica : image.replicas()) {
                if (replica == localNodeId) {
                    next.add(replica);
                    continue;
                }
                FollowerState f = followers.get(replica);
                boolean inIsr = image.isr().contains(replica);
                if (inIsr && f != null && nowMs - f.lastCaughtUpTimeMs <= lagTimeMs) {
                    next.add(replica);
                } else if (!inIsr && f != null && f.logEndOffset >= highWatermark
                        && f.logEndOffset >= leaderEpochStartOffset && nowMs - f.lastCaughtUpTimeMs <= lagTimeMs) {
                    next.add(replica);
                }
            }
            if (next.size() == image.isr().size() && next.containsAll(image.isr())) {
                return Optional.empty();
            }
            isrChangeInFlightFromEpoch = image.partitionEpoch();
            return Optional.of(next);
        }
    }

    /** The AlterPartition failed or was refused: allow another attempt. */
    void isrChangeDone() {
        synchronized (this) {
            isrChangeInFlightFromEpoch = -1;
        }
    }

    /**
     * Checks that this node leads the partition and that the client's view of the leader epoch (-1: none) is
     * current, as Kafka does for Produce, Fetch, ListOffsets and OffsetForLeaderEpoch (KIP-320).
     */
    public void checkLeader(int clientLeaderEpoch) {
        PartitionImage current = image;
        if (current.leader() != localNodeId) {
            throw new ReplicaException(ReplicaError.NOT_LEADER_OR_FOLLOWER, "node " + localNodeId
                    + " does not lead " + id);
        }
        if (clientLeaderEpoch >= 0) {
            if (clientLeaderEpoch < current.leaderEpoch()) {
                throw new ReplicaException(ReplicaError.FENCED_LEADER_EPOCH, "leader epoch " + clientLeaderEpoch
                        + " is older than " + current.leaderEpoch());
            }
            if (clientLeaderEpoch > current.leaderEpoch()) {
                throw new ReplicaException(ReplicaError.UNKNOWN_LEADER_EPOCH, "leader epoch " + clientLeaderEpoch
                        + " is newer than " + current.leaderEpoch());
            }
        }
    }
}
