package io.tributary.replication;

import io.tributary.metadata.BrokerRegistration;
import io.tributary.metadata.PartitionImage;
import io.tributary.proto.replication.ReplicaFetchError;
import io.tributary.storage.EpochEndOffset;
import io.tributary.storage.LogAppendResult;
import io.tributary.storage.LogReadResult;
import io.tributary.storage.PartitionLog;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * A partition replica hosted on this node: the replication core. It holds the replica's role as explicit state and
 * changes it only under this object's lock, so that check-leader + append, role changes, ISR changes and the
 * application of a fetch answer are serialised. No thread, clock, socket or disk of its own: time comes in as
 * {@code nowMs}, the log through {@link ReplicaLog}, decisions go out as return values ({@link Completions},
 * {@link FetchAnswer}, {@link IsrProposal}); the seeded simulation drives exactly this class.
 *
 * <p>Roles, from the metadata image ({@link #becomeLeader}, {@link #becomeFollower}):
 * <pre>
 * role       state                                                    leaves on
 * follower   leader id + leader epoch of the image, leader's HW seen   becomeLeader (new epoch starts at the LEO)
 * leader     leader epoch, epoch start offset, follower states,       becomeFollower, or becomeLeader of another
 *            pending ISR change (the maximal ISR), acks=all waiters   epoch: every waiter fails
 * </pre>
 *
 * <p>The leader's rules are Kafka's ({@code Partition.scala}):
 * <ul>
 *   <li>The high watermark is the minimum log end offset over the <em>maximal</em> ISR: the committed ISR plus any
 *       member whose addition is in flight, so that a replica about to join has every committed record.
 *   <li>It never moves while the committed ISR is smaller than min.insync.replicas (KIP-966's strict min ISR), and
 *       never moves back within a leader epoch.
 *   <li>acks=all waiters carry the leader epoch they were registered in and fail (NOT_LEADER_OR_FOLLOWER) on any
 *       epoch change; they fail with NOT_ENOUGH_REPLICAS_AFTER_APPEND once the ISR falls below min ISR.
 *   <li>A follower joins the ISR only if its log end offset reached the high watermark and the start of the current
 *       leader epoch, and it is registered, unfenced and fetching with its current broker epoch; one not caught up
 *       for the lag time leaves it. One ISR change is in flight at a time.
 *   <li>Only a registered replica fetching with its current broker epoch is tracked; others are refused.
 * </ul>
 * The follower applies a fetch answer only if its fetch state (leader, leader epoch, fetch offset) still matches.
 *
 * <p>Threads: every method may be called from any thread; changes run under {@code synchronized (this)}, waiters
 * complete outside it (the caller runs the returned {@link Completions}). Plain getters read volatile fields.
 */
public final class Partition {

    private final PartitionId id;
    private final UUID topicId;
    private final ReplicaLog log;
    private final PartitionLog diskLog;
    private final int localNodeId;
    private volatile PartitionImage image;
    private volatile int minInsyncReplicas;
    private volatile long highWatermark;
    /** The high watermark when consumers' fetches were last woken ({@link #highWatermarkMovedSinceLastWake}). */
    private final java.util.concurrent.atomic.AtomicLong highWatermarkAtLastWake =
            new java.util.concurrent.atomic.AtomicLong(0);
    /** Follower: the leader's high watermark in the last fetch answer applied; -1 before any. */
    private volatile long leaderHighWatermarkSeen = -1;
    /** Leader only: follower id -> what the leader knows of it. */
    private final Map<Integer, FollowerState> followers = new HashMap<>();
    /** Leader only: acks=all produces waiting for the high watermark to reach an offset. */
    private final TreeMap<Long, List<Waiter>> commitWaiters = new TreeMap<>();
    /** Leader only: DeleteRecords waiting for every maximal-ISR member's log start offset to reach an offset. */
    private final List<StartWaiter> startWaiters = new ArrayList<>();
    /** Leader only: the log end offset when this leader epoch began; followers join the ISR only past it. */
    private long leaderEpochStartOffset;
    /** Leader only: the ISR change in flight, null if none. Its members count towards the high watermark. */
    private PendingIsr pendingIsr;
    /** When the fetch path may propose an ISR change again after the controller refused one. */
    private long refusedUntilMs = Long.MIN_VALUE;

    /** What a leader knows of one follower. */
    private static final class FollowerState {
        long logEndOffset = -1;
        long lastCaughtUpTimeMs;
        long lastFetchTimeMs;
        long leaderEndOffsetAtLastFetch;
        long brokerEpoch = -1;
        /** The log start offset its last fetch carried; -1 before any (or if it did not say). */
        long logStartOffset = -1;

        FollowerState(long lastCaughtUpTimeMs) {
            this.lastCaughtUpTimeMs = lastCaughtUpTimeMs;
        }
    }

    /** An acks=all produce waiting for the high watermark, with the leader epoch it was appended in. */
    private record Waiter(CompletableFuture<Void> future, int leaderEpoch) {}

    /** A DeleteRecords waiting for the low watermark to reach {@code offset}, in the leader epoch it began in. */
    private record StartWaiter(long offset, CompletableFuture<Long> future, int leaderEpoch) {}

    /** An AlterPartition in flight; {@code retryAtMs} >= 0 once it should be sent again. */
    private static final class PendingIsr {
        final IsrProposal proposal;
        long retryAtMs = -1;

        PendingIsr(IsrProposal proposal) {
            this.proposal = proposal;
        }
    }

    /** A replica over the on-disk log. */
    Partition(PartitionId id, UUID topicId, PartitionLog log, PartitionImage image, int localNodeId,
            int minInsyncReplicas) {
        this(id, topicId, new DiskReplicaLog(log), log, image, localNodeId, minInsyncReplicas);
    }

    /** A replica over any log (the simulation's is in memory; then {@link #log()} is null). */
    public Partition(PartitionId id, UUID topicId, ReplicaLog log, PartitionImage image, int localNodeId,
            int minInsyncReplicas) {
        this(id, topicId, log, null, image, localNodeId, minInsyncReplicas);
    }

    private Partition(PartitionId id, UUID topicId, ReplicaLog log, PartitionLog diskLog, PartitionImage image,
            int localNodeId, int minInsyncReplicas) {
        this.id = id;
        this.topicId = topicId;
        this.log = log;
        this.diskLog = diskLog;
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

    /** The on-disk log (null for a replica over another {@link ReplicaLog}). */
    public PartitionLog log() {
        return diskLog;
    }

    public ReplicaLog replicaLog() {
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
     * Follower: how far this replica's log end trails the leader's high watermark as last seen in a fetch answer
     * (0 if it is level or ahead, or if this replica leads or has not fetched yet).
     */
    public long followerLag() {
        long seen = leaderHighWatermarkSeen;
        return isLeader() || seen < 0 ? 0 : Math.max(0, seen - log.logEndOffset());
    }

    /** The offset below which records are committed and visible to consumers. */
    /**
     * Whether the high watermark differs from what it was at the previous call (the first call: from 0, where a new
     * replica starts). The replica manager wakes consumers' long polls only then; role changes wake them regardless.
     */
    boolean highWatermarkMovedSinceLastWake() {
        long now = highWatermark;
        return highWatermarkAtLastWake.getAndSet(now) != now;
    }

    public long highWatermark() {
        return highWatermark;
    }

    /** Leader: the committed ISR plus the members of an ISR change in flight. */
    public Set<Integer> maximalIsr() {
        synchronized (this) {
            return maximalIsrLocked();
        }
    }

    // ---------------------------------------------------------------- role changes

    /**
     * Takes the leadership of a new image. A new leader epoch starts at the log end offset: every waiter of the
     * previous epoch fails, follower state starts over (ISR members get a full lag time to fetch) and any ISR change
     * in flight is forgotten. In the same epoch (an ISR change) an in-flight change older than the image is resolved.
     */
    public Completions becomeLeader(PartitionImage next, long nowMs) {
        synchronized (this) {
            Completions done = new Completions();
            boolean newEpoch = !isLeader() || next.leaderEpoch() != image.leaderEpoch();
            if (newEpoch) {
                failWaiters(done, ReplicaError.NOT_LEADER_OR_FOLLOWER, "the leader epoch changed to "
                        + next.leaderEpoch() + " before the batch was committed");
                failStartWaiters(done, "the leader epoch changed to " + next.leaderEpoch()
                        + " before every in-sync replica moved its log start offset");
                log.assignEpoch(next.leaderEpoch());
                leaderEpochStartOffset = log.logEndOffset();
                followers.clear();
                pendingIsr = null;
            }
            image = next;
            for (int replica : next.replicas()) {
                if (replica != localNodeId) {
                    followers.computeIfAbsent(replica,
                            r -> new FollowerState(next.isr().contains(r) ? nowMs : Long.MIN_VALUE / 2));
                }
            }
            followers.keySet().retainAll(next.replicas());
            if (pendingIsr != null && next.partitionEpoch() > pendingIsr.proposal.partitionEpoch()) {
                pendingIsr = null;
            }
            if (next.isr().size() < minInsyncReplicas) {
                failWaiters(done, ReplicaError.NOT_ENOUGH_REPLICAS_AFTER_APPEND, "the ISR " + next.isr()
                        + " fell below min.insync.replicas " + minInsyncReplicas + " before the batch was committed");
            }
            advanceHighWatermark(done);
            completeStartWaiters(done); // a smaller ISR may have reached the offset already
            return done;
        }
    }

    /** Follows a new image; every acks=all waiter fails (NOT_LEADER_OR_FOLLOWER). */
    public Completions becomeFollower(PartitionImage next) {
        synchronized (this) {
            if (next.leader() != image.leader() || next.leaderEpoch() != image.leaderEpoch()) {
                leaderHighWatermarkSeen = -1; // another leader's high watermark: unknown until its first answer
            }
            Completions done = new Completions();
            failWaiters(done, ReplicaError.NOT_LEADER_OR_FOLLOWER, "leadership moved before the batch was committed");
            failStartWaiters(done, "leadership moved before every in-sync replica moved its log start offset");
            image = next;
            followers.clear();
            pendingIsr = null;
            highWatermark = Math.min(highWatermark, log.logEndOffset());
            return done;
        }
    }

    // ---------------------------------------------------------------- leader: appends and waiters

    /**
     * Appends client batches as leader, atomically with the leadership check: the leader epoch the client named
     * (-1: any) must be current, and for acks=all ({@code requiredAcks == -1}) the ISR must have at least
     * min.insync.replicas members, else NOT_ENOUGH_REPLICAS and nothing is appended. For acks=all the returned
     * future completes once the high watermark passes the batches; it is registered in this leader epoch under the
     * same lock as the append, so no role change can slip between them.
     *
     * @throws ReplicaException for a refused append; nothing was written
     * @throws io.tributary.storage.LogException for invalid batches; nothing was written
     */
    public AppendOutcome appendAsLeader(ByteBuffer batches, int clientLeaderEpoch, int requiredAcks)
            throws IOException {
        Completions done = new Completions();
        AppendOutcome outcome;
        synchronized (this) {
            checkLeader(clientLeaderEpoch);
            if (requiredAcks == -1 && image.isr().size() < minInsyncReplicas) {
                throw new ReplicaException(ReplicaError.NOT_ENOUGH_REPLICAS, "the ISR of " + id + " has "
                        + image.isr().size() + " members, fewer than min.insync.replicas " + minInsyncReplicas);
            }
            LogAppendResult result = log.append(batches, image.leaderEpoch());
            advanceHighWatermark(done);
            CompletableFuture<Void> committed = requiredAcks == -1
                    ? awaitLocked(result.lastOffset() + 1)
                    : CompletableFuture.completedFuture(null);
            outcome = new AppendOutcome(result, committed);
        }
        done.run();
        return outcome;
    }

    /**
     * Writes a transaction marker (COMMIT or ABORT of the producer's transaction here) as leader, for the
     * transaction coordinator: like an acks=all append (the ISR must have min.insync.replicas members), the future
     * completes once the high watermark passes the marker.
     *
     * @throws ReplicaException if this replica is not the leader or the ISR is too small; nothing was written
     * @throws io.tributary.storage.LogException INVALID_PRODUCER_EPOCH for a marker older than the producer's epoch
     */
    public AppendOutcome appendTransactionMarker(long producerId, short producerEpoch, int coordinatorEpoch,
            boolean commit) throws IOException {
        Completions done = new Completions();
        AppendOutcome outcome;
        synchronized (this) {
            checkLeader(-1);
            if (image.isr().size() < minInsyncReplicas) {
                throw new ReplicaException(ReplicaError.NOT_ENOUGH_REPLICAS, "the ISR of " + id + " has "
                        + image.isr().size() + " members, fewer than min.insync.replicas " + minInsyncReplicas);
            }
            LogAppendResult result = log.appendTransactionMarker(producerId, producerEpoch, coordinatorEpoch, commit,
                    image.leaderEpoch());
            advanceHighWatermark(done);
            outcome = new AppendOutcome(result, awaitLocked(result.lastOffset() + 1));
        }
        done.run();
        return outcome;
    }

    /**
     * The last stable offset (Kafka's LSO): the smaller of the high watermark and the first offset of the oldest
     * transaction that is open or whose marker is not replicated yet, never below the log start offset. A
     * read_committed reader reads below it.
     */
    public long lastStableOffset() {
        long high = highWatermark();
        return Math.max(log.logStartOffset(), Math.min(high, log.firstUnstableOffset(high).orElse(high)));
    }

    /** acks=all waiters now (each leaves when committed, failed, or given up by its caller's timeout). */
    public synchronized int commitWaiterCount() {
        int count = 0;
        for (List<Waiter> waiters : commitWaiters.values()) {
            count += waiters.size();
        }
        return count;
    }

    /** Leader, lock held: a waiter for the high watermark to reach {@code offset}, done if it already has. */
    private CompletableFuture<Void> awaitLocked(long offset) {
        if (highWatermark >= offset) {
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<Void> future = new CompletableFuture<>();
        Waiter waiter = new Waiter(future, image.leaderEpoch());
        commitWaiters.computeIfAbsent(offset, o -> new ArrayList<>()).add(waiter);
        // A waiter given up by its caller (request timeout) leaves at once, not when the high watermark moves.
        future.whenComplete((v, e) -> {
            if (e != null) {
                forget(offset, waiter);
            }
        });
        return future;
    }

    private void forget(long offset, Waiter waiter) {
        synchronized (this) {
            List<Waiter> atOffset = commitWaiters.get(offset);
            if (atOffset != null && atOffset.remove(waiter) && atOffset.isEmpty()) {
                commitWaiters.remove(offset);
            }
        }
    }

    private void failWaiters(Completions done, ReplicaError error, String message) {
        for (List<Waiter> waiters : commitWaiters.values()) {
            for (Waiter w : waiters) {
                done.fail(w.future(), new ReplicaException(error, message));
            }
        }
        commitWaiters.clear();
    }

    // ---------------------------------------------------------------- leader: follower fetches

    /**
     * Leader: answers one partition of a follower's fetch. Refuses a replica that is not assigned, or whose broker
     * epoch is not its registration's in {@code brokers} (the leader's metadata), or a stale or future leader epoch.
     * Otherwise records the follower's log end offset (which may advance the high watermark; completed waiters go to
     * {@code done}) and answers the divergence point or the stored batches from the fetch offset, up to
     * {@code maxBytes} (at least one batch if {@code minOneBatch}; nothing if {@code maxBytes <= 0}).
     */
    public FetchAnswer onFollowerFetch(FollowerFetch fetch, Map<Integer, BrokerRegistration> brokers, int maxBytes,
            boolean minOneBatch, long nowMs, Completions done) throws IOException {
        long fetchOffset = fetch.fetchOffset();
        long highWatermarkNow;
        synchronized (this) {
            ReplicaFetchError error = checkFollowerFetch(fetch, brokers);
            if (error != ReplicaFetchError.NONE) {
                return FetchAnswer.error(error);
            }
            EpochEndOffset diverging = divergence(fetch);
            if (diverging != null) {
                return FetchAnswer.diverging(diverging, highWatermark, log.logStartOffset());
            }
            if (fetchOffset < log.logStartOffset()) {
                return FetchAnswer.outOfRange(log.logStartOffset());
            }
            recordFollowerPosition(fetch, nowMs);
            advanceHighWatermark(done);
            completeStartWaiters(done);
            highWatermarkNow = highWatermark;
        }
        ByteBuffer records = ByteBuffer.allocate(0);
        if (maxBytes > 0 && fetchOffset < log.logEndOffset()) {
            LogReadResult read = log.read(fetchOffset, maxBytes, Long.MAX_VALUE);
            records = read.records();
            if (records.remaining() > maxBytes && !minOneBatch) {
                records = ByteBuffer.allocate(0); // over the response's budget: the next fetch gets it
            }
        }
        return FetchAnswer.records(records, highWatermarkNow, log.logStartOffset());
    }

    private ReplicaFetchError checkFollowerFetch(FollowerFetch fetch, Map<Integer, BrokerRegistration> brokers) {
        if (!isLeader()) {
            return ReplicaFetchError.NOT_LEADER;
        }
        if (fetch.currentLeaderEpoch() < image.leaderEpoch()) {
            return ReplicaFetchError.FENCED_LEADER_EPOCH;
        }
        if (fetch.currentLeaderEpoch() > image.leaderEpoch()) {
            return ReplicaFetchError.UNKNOWN_LEADER_EPOCH;
        }
        if (fetch.replicaId() == localNodeId || !image.replicas().contains(fetch.replicaId())) {
            return ReplicaFetchError.NOT_IN_REPLICAS;
        }
        BrokerRegistration broker = brokers.get(fetch.replicaId());
        if (broker == null || broker.brokerEpoch() != fetch.brokerEpoch()) {
            return ReplicaFetchError.STALE_BROKER_EPOCH;
        }
        return ReplicaFetchError.NONE;
    }

    /**
     * KIP-320: the follower's log diverges if this log has no batch of the follower's last fetched epoch ending at or
     * after the fetch offset. Then the answer is the end of the largest epoch not above it. A follower without epochs
     * ahead of this log is cut back to its end.
     */
    private EpochEndOffset divergence(FollowerFetch fetch) {
        long fetchOffset = fetch.fetchOffset();
        if (fetch.lastFetchedEpoch() < 0) {
            return fetchOffset > log.logEndOffset() ? new EpochEndOffset(-1, log.logEndOffset()) : null;
        }
        EpochEndOffset end = log.endOffsetForEpoch(fetch.lastFetchedEpoch());
        if (end.epoch() < fetch.lastFetchedEpoch() || end.endOffset() < fetchOffset) {
            return end;
        }
        return null;
    }

    /**
     * Kafka's caught-up rule: a fetch at or past the leader's log end offset now, or past the one the leader had at
     * the follower's previous fetch, means caught up (at that previous fetch's time).
     */
    private void recordFollowerPosition(FollowerFetch fetch, long nowMs) {
        FollowerState follower = followers.get(fetch.replicaId());
        long leaderEnd = log.logEndOffset();
        follower.brokerEpoch = fetch.brokerEpoch();
        follower.logStartOffset = fetch.logStartOffset();
        follower.logEndOffset = Math.min(fetch.fetchOffset(), leaderEnd);
        if (fetch.fetchOffset() >= leaderEnd) {
            follower.lastCaughtUpTimeMs = nowMs;
        } else if (fetch.fetchOffset() >= follower.leaderEndOffsetAtLastFetch) {
            follower.lastCaughtUpTimeMs = Math.max(follower.lastCaughtUpTimeMs, follower.lastFetchTimeMs);
        }
        follower.leaderEndOffsetAtLastFetch = leaderEnd;
        follower.lastFetchTimeMs = nowMs;
    }

    // ---------------------------------------------------------------- leader: high watermark and ISR

    /** Lock held. */
    private Set<Integer> maximalIsrLocked() {
        Set<Integer> maximal = new LinkedHashSet<>(image.isr());
        if (pendingIsr != null) {
            maximal.addAll(pendingIsr.proposal.isr());
        }
        return maximal;
    }

    /**
     * Leader, lock held: HW = min log end offset over the maximal ISR, never backwards, never while the committed
     * ISR is below min ISR. Completes the waiters it passes.
     */
    private void advanceHighWatermark(Completions done) {
        if (!isLeader() || image.isr().size() < minInsyncReplicas) {
            return;
        }
        Set<Integer> maximal = maximalIsrLocked();
        long candidate = log.logEndOffset();
        for (int replica : maximal) {
            if (replica == localNodeId) {
                continue;
            }
            FollowerState follower = followers.get(replica);
            candidate = Math.min(candidate, follower == null ? -1 : follower.logEndOffset);
        }
        if (candidate <= highWatermark) {
            return;
        }
        highWatermark = candidate;
        log.onHighWatermark(candidate);
        Map<Long, List<Waiter>> reached = commitWaiters.headMap(candidate, true);
        for (List<Waiter> waiters : reached.values()) {
            for (Waiter w : waiters) {
                if (w.leaderEpoch() != image.leaderEpoch()) {
                    throw new IllegalStateException("a waiter of leader epoch " + w.leaderEpoch() + " outlived it ("
                            + id + " is in epoch " + image.leaderEpoch() + ")");
                }
                if (maximal.size() >= minInsyncReplicas) {
                    done.succeed(w.future());
                } else {
                    done.fail(w.future(), new ReplicaException(ReplicaError.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
                            "the ISR of " + id + " fell below min.insync.replicas " + minInsyncReplicas));
                }
            }
        }
        reached.clear();
    }

    /**
     * Leader: the ISR change to ask the controller for now, if any, and marks it in flight (its members count towards
     * the high watermark until the image settles it). Followers not caught up for {@code lagTimeMs} leave; followers
     * out of the ISR join once their log end offset reached the high watermark and this epoch's start offset, they
     * are caught up, registered and unfenced in {@code brokers}, and fetching with that registration's broker epoch.
     * A change in flight whose answer asked for a retry is returned again once its retry time has come.
     */
    public Optional<IsrProposal> isrChange(Map<Integer, BrokerRegistration> brokers, long nowMs, long lagTimeMs) {
        synchronized (this) {
            if (!isLeader()) {
                return Optional.empty();
            }
            if (pendingIsr != null) {
                if (pendingIsr.retryAtMs >= 0 && nowMs >= pendingIsr.retryAtMs) {
                    pendingIsr.retryAtMs = -1;
                    return Optional.of(pendingIsr.proposal);
                }
                return Optional.empty();
            }
            List<Integer> next = new ArrayList<>();
            for (int replica : image.replicas()) {
                FollowerState f = followers.get(replica);
                boolean inIsr = image.isr().contains(replica);
                boolean caughtUp = f != null && nowMs - f.lastCaughtUpTimeMs <= lagTimeMs;
                if (replica == localNodeId || (inIsr && caughtUp)) {
                    next.add(replica);
                } else if (!inIsr && caughtUp && f.logEndOffset >= highWatermark
                        && f.logEndOffset >= leaderEpochStartOffset && eligible(replica, f, brokers)) {
                    next.add(replica);
                }
            }
            if (next.size() == image.isr().size() && next.containsAll(image.isr())) {
                return Optional.empty();
            }
            pendingIsr = new PendingIsr(new IsrProposal(next, image.leaderEpoch(), image.partitionEpoch()));
            return Optional.of(pendingIsr.proposal);
        }
    }

    /**
     * Leader: whether {@code replica}, outside the ISR, has caught up to the high watermark with no ISR change in
     * flight and no refusal within the retry backoff: a cheap test on the fetch path before {@link #isrChange}
     * (which decides), so that a controller that keeps refusing is not asked on every fetch.
     */
    public boolean mayExpandIsrWith(int replica, long nowMs) {
        synchronized (this) {
            if (!isLeader() || pendingIsr != null || image.isr().contains(replica) || nowMs < refusedUntilMs) {
                return false;
            }
            FollowerState f = followers.get(replica);
            return f != null && f.logEndOffset >= highWatermark && f.logEndOffset >= leaderEpochStartOffset;
        }
    }

    private static boolean eligible(int replica, FollowerState f, Map<Integer, BrokerRegistration> brokers) {
        BrokerRegistration broker = brokers.get(replica);
        return broker != null && !broker.fenced() && broker.brokerEpoch() == f.brokerEpoch;
    }

    /**
     * Leader: the controller's answer to {@code proposal}. Only a refusal (nothing committed) drops the change in
     * flight; a commit or a stale answer waits for the image (and is asked again after ten backoffs in case it never
     * comes); a missing answer is retried after {@code retryBackoffMs}.
     */
    public Completions onIsrChangeResult(IsrProposal proposal, IsrChangeResult result, long nowMs,
            long retryBackoffMs) {
        synchronized (this) {
            if (pendingIsr == null || pendingIsr.proposal != proposal) {
                return Completions.NONE; // settled by an image already
            }
            Completions done = new Completions();
            switch (result) {
                case REFUSED -> {
                    pendingIsr = null;
                    // The fetch path waits a backoff before proposing again (the periodic check has its own pace).
                    refusedUntilMs = nowMs + retryBackoffMs;
                    advanceHighWatermark(done);
                    completeStartWaiters(done);
                }
                // A newer image is coming (or the controller lags): ask again only in case it never does.
                case COMMITTED, STALE -> pendingIsr.retryAtMs = nowMs + 10 * retryBackoffMs;
                case UNKNOWN -> pendingIsr.retryAtMs = nowMs + retryBackoffMs;
                default -> throw new IllegalStateException("unknown result " + result);
            }
            return done;
        }
    }

    /** Leader: the ISR change in flight, if any. */
    public Optional<IsrProposal> pendingIsrChange() {
        synchronized (this) {
            return pendingIsr == null ? Optional.empty() : Optional.of(pendingIsr.proposal);
        }
    }

    // ---------------------------------------------------------------- leader: DeleteRecords

    /** DeleteRecords' offset -1: delete up to the high watermark. */
    public static final long DELETE_UP_TO_HIGH_WATERMARK = -1L;

    /**
     * Leader: DeleteRecords (Kafka's {@code Partition.deleteRecordsOnLeader} and {@code DelayedDeleteRecords}). Moves
     * the log start offset up to {@code offset} ({@value #DELETE_UP_TO_HIGH_WATERMARK}: the high watermark); an offset
     * at or below the current start changes nothing. The future completes with the low watermark (the smallest log
     * start offset over this replica and the other members of the maximal ISR, as their fetches report them) once it
     * has reached the offset; it fails with NOT_LEADER_OR_FOLLOWER on a leader epoch change. The caller bounds the
     * wait (REQUEST_TIMED_OUT); a future it completes exceptionally leaves at once.
     *
     * @throws ReplicaException NOT_LEADER_OR_FOLLOWER if this replica does not lead; OFFSET_OUT_OF_RANGE for an
     *     offset above the high watermark, or negative other than -1. Nothing changed.
     */
    public CompletableFuture<Long> deleteRecords(long offset) throws IOException {
        synchronized (this) {
            checkLeader(-1);
            long target = offset == DELETE_UP_TO_HIGH_WATERMARK ? highWatermark : offset;
            if (target < 0 || target > highWatermark) {
                throw new ReplicaException(ReplicaError.OFFSET_OUT_OF_RANGE, "Cannot move the log start offset of "
                        + id + " to " + offset + ": it is negative or above the high watermark " + highWatermark);
            }
            log.advanceLogStartOffset(target);
            long low = lowWatermarkLocked();
            if (low >= target) {
                return CompletableFuture.completedFuture(low);
            }
            StartWaiter waiter = new StartWaiter(target, new CompletableFuture<>(), image.leaderEpoch());
            startWaiters.add(waiter);
            waiter.future().whenComplete((v, e) -> {
                if (e != null) {
                    synchronized (this) {
                        startWaiters.remove(waiter);
                    }
                }
            });
            return waiter.future();
        }
    }

    /** Leader: the smallest log start offset over this replica and the other members of the maximal ISR. */
    public long lowWatermark() {
        synchronized (this) {
            return lowWatermarkLocked();
        }
    }

    /** DeleteRecords waiting for in-sync replicas now. */
    public synchronized int deleteRecordsWaiterCount() {
        return startWaiters.size();
    }

    private long lowWatermarkLocked() {
        long low = log.logStartOffset();
        for (int replica : maximalIsrLocked()) {
            if (replica != localNodeId) {
                FollowerState follower = followers.get(replica);
                low = Math.min(low, follower == null ? -1 : follower.logStartOffset);
            }
        }
        return low;
    }

    /** Leader, lock held: completes the DeleteRecords whose offset the low watermark reached. */
    private void completeStartWaiters(Completions done) {
        if (startWaiters.isEmpty() || !isLeader()) {
            return;
        }
        long low = lowWatermarkLocked();
        startWaiters.removeIf(w -> {
            if (w.offset() > low) {
                return false;
            }
            done.succeed(w.future(), low);
            return true;
        });
    }

    private void failStartWaiters(Completions done, String message) {
        for (StartWaiter w : startWaiters) {
            done.failLowWatermark(w.future(), new ReplicaException(ReplicaError.NOT_LEADER_OR_FOLLOWER, message));
        }
        startWaiters.clear();
    }

    // ---------------------------------------------------------------- follower: applying fetch answers

    /** What became of a fetch answer on the follower. */
    public enum Applied { APPLIED, STALE, ERROR }

    /**
     * Follower: applies the answer of {@code leaderId} in {@code leaderEpoch} to a fetch sent at {@code fetchOffset},
     * if this replica still follows that leader in that epoch from that offset (else STALE, nothing changes):
     * truncates a diverging tail (KIP-320), restarts at the leader's log start if it fell below it, or appends the
     * batches and takes the leader's high watermark capped at its own log end. The answer's records are valid only
     * during this call (see {@link FetchAnswer}): they are appended here, synchronously, and not kept.
     */
    public Applied applyFetch(int leaderId, int leaderEpoch, long fetchOffset, FetchAnswer answer)
            throws IOException {
        synchronized (this) {
            if (isLeader() || image.leader() != leaderId || image.leaderEpoch() != leaderEpoch
                    || log.logEndOffset() != fetchOffset) {
                return Applied.STALE;
            }
            switch (answer.error()) {
                case NONE -> { }
                case OFFSET_OUT_OF_RANGE -> {
                    if (answer.logStartOffset() > fetchOffset) {
                        log.truncateFullyAndStartAt(answer.logStartOffset());
                        highWatermark = Math.min(highWatermark, log.logEndOffset());
                        return Applied.APPLIED;
                    }
                    return Applied.ERROR;
                }
                default -> {
                    return Applied.ERROR;
                }
            }
            if (answer.divergingEpoch() != null) {
                log.truncateTo(divergenceTruncationOffset(answer.divergingEpoch()));
                highWatermark = Math.min(highWatermark, log.logEndOffset());
                return Applied.APPLIED;
            }
            if (answer.records().hasRemaining()) {
                log.appendAsFollower(answer.records());
            }
            leaderHighWatermarkSeen = answer.highWatermark();
            long capped = Math.min(answer.highWatermark(), log.logEndOffset());
            if (capped > highWatermark) {
                highWatermark = capped;
                log.onHighWatermark(capped);
            }
            // Kafka's follower takes the leader's log start offset from every answer, never past its own HW.
            long start = Math.min(answer.logStartOffset(), highWatermark);
            if (start > log.logStartOffset()) {
                log.advanceLogStartOffset(start);
            }
            return Applied.APPLIED;
        }
    }

    /** Where to cut a diverging log: the smaller of the leader's and this log's end of the diverging epoch. */
    private long divergenceTruncationOffset(EpochEndOffset diverging) {
        EpochEndOffset own = log.endOffsetForEpoch(diverging.epoch());
        long to;
        if (diverging.endOffset() < 0) {
            // The leader knows no epoch at or below ours (ours is newer than all of its): keep what is committed.
            to = Math.min(highWatermark, log.logEndOffset());
        } else if (own.endOffset() < 0) {
            to = Math.min(diverging.endOffset(), log.logEndOffset());
        } else {
            to = Math.min(diverging.endOffset(), own.endOffset());
        }
        return Math.max(to, log.logStartOffset());
    }

    // ---------------------------------------------------------------- checks

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
