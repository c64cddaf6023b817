package io.tributary.storage;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * Idempotent-producer state of one partition: per producer id, its epoch and its last
 * {@value #MAX_CACHED_BATCHES} batches' sequence and offset ranges. Used by the leader append to drop retries
 * (duplicates) and reject gaps and fenced epochs, with the rules of Kafka's {@code ProducerAppendInfo}.
 *
 * <p>Persisted as {@link ProducerSnapshots} (Kafka's {@code .snapshot} files): on open, and for the producers that
 * had a batch removed by a truncation (see {@link #restoreAfterTruncation}), the state is the newest snapshot at or
 * below the log end plus a replay of the batch headers after it (no decompression).
 *
 * <p>Bound: one entry per producer id whose last batch is in the log (not below the log start offset, see
 * {@link #truncateHead}) and was written within {@code producer.id.expiration.ms}, give or take one expiration check
 * ({@link #expire}, run by the replica manager every {@code producer.id.expiration.check.interval.ms}).
 *
 * <p>Threads: mutated only by {@link PartitionLog} under its append lock. The public accessors may be called from
 * any thread; entries are immutable and swapped atomically.
 */
public final class ProducerStateManager {
    /** Kafka's {@code ProducerStateEntry.NUM_BATCHES_TO_RETAIN}. */
    public static final int MAX_CACHED_BATCHES = 5;

    /** One batch of a producer: inclusive sequence and offset ranges. */
    public record BatchMetadata(int firstSeq, int lastSeq, long firstOffset, long lastOffset) {
    }

    /**
     * A producer's state: its epoch, its last batches (oldest first, at most {@value #MAX_CACHED_BATCHES}), the
     * max timestamp of its last batch (for expiration), the first offset of its ongoing transaction in this
     * partition (-1: none; set by its first transactional batch, cleared by a marker) and the epoch of the
     * transaction coordinator whose marker came last (-1: none; an older coordinator's marker is refused).
     */
    public record ProducerEntry(long producerId, short producerEpoch, List<BatchMetadata> batches,
                                long lastTimestamp, long currentTxnFirstOffset, int coordinatorEpoch) {
        public ProducerEntry {
            batches = List.copyOf(batches);
        }

        /** An entry without an ongoing transaction or a marker. */
        public ProducerEntry(long producerId, short producerEpoch, List<BatchMetadata> batches, long lastTimestamp) {
            this(producerId, producerEpoch, batches, lastTimestamp, -1, -1);
        }

        /** Last sequence written, or -1 when no batch is cached. */
        public int lastSequence() {
            return batches.isEmpty() ? RecordBatchHeader.NO_SEQUENCE : batches.get(batches.size() - 1).lastSeq();
        }

        Optional<BatchMetadata> findDuplicate(short epoch, int firstSeq, int lastSeq) {
            if (epoch != producerEpoch) {
                return Optional.empty();
            }
            for (BatchMetadata b : batches) {
                if (b.firstSeq() == firstSeq && b.lastSeq() == lastSeq) {
                    return Optional.of(b);
                }
            }
            return Optional.empty();
        }

        ProducerEntry with(short epoch, BatchMetadata batch, long timestamp) {
            List<BatchMetadata> next = new ArrayList<>(epoch == producerEpoch ? batches : List.of());
            if (batch != null) {
                next.add(batch);
                if (next.size() > MAX_CACHED_BATCHES) {
                    next.remove(0);
                }
            }
            return new ProducerEntry(producerId, epoch, next, Math.max(timestamp, lastTimestamp),
                    currentTxnFirstOffset, coordinatorEpoch);
        }

        ProducerEntry withTxnFirstOffset(long firstOffset) {
            return new ProducerEntry(producerId, producerEpoch, batches, lastTimestamp, firstOffset, coordinatorEpoch);
        }

        ProducerEntry withMarker(int markerCoordinatorEpoch) {
            return new ProducerEntry(producerId, producerEpoch, batches, lastTimestamp, -1,
                    Math.max(coordinatorEpoch, markerCoordinatorEpoch));
        }
    }

    /**
     * A transaction that a marker ended in this partition: its producer's records from {@code firstOffset} to the
     * marker at {@code lastOffset}, committed or aborted.
     */
    public record CompletedTxn(long producerId, long firstOffset, long lastOffset, boolean aborted) {
    }

    private final Map<Long, ProducerEntry> producers = new ConcurrentHashMap<>();
    /**
     * First offset -> producer id of every ongoing transaction (Kafka's {@code ongoingTxns}); derived from producers.
     * Replaced whole when rebuilt, so that a reader never sees it half filled.
     */
    private volatile ConcurrentSkipListMap<Long, Long> ongoing = new ConcurrentSkipListMap<>();
    /** Counts the changes to {@link #producers}, so that the log can tell whether a snapshot still holds them. */
    private long changes;

    /** The state of {@code producerId}, if the log has any. */
    public Optional<ProducerEntry> entry(long producerId) {
        return Optional.ofNullable(producers.get(producerId));
    }

    /** A snapshot of all producers' state. */
    public Map<Long, ProducerEntry> entries() {
        return Collections.unmodifiableMap(new HashMap<>(producers));
    }

    public int producerCount() {
        return producers.size();
    }

    /**
     * The first offset of the oldest ongoing transaction, if any: no read_committed reader may read at or past it
     * (the last stable offset is the smaller of it and the high watermark).
     */
    public OptionalLong firstUnstableOffset() {
        Map.Entry<Long, Long> first = ongoing.firstEntry();
        return first == null ? OptionalLong.empty() : OptionalLong.of(first.getKey());
    }

    /**
     * The first offset of the oldest ongoing transaction other than the one starting at {@code firstOffset} (the one a
     * marker being written ends), if any.
     */
    OptionalLong firstUnstableOffsetWithout(long firstOffset) {
        for (long offset : ongoing.keySet()) {
            if (offset != firstOffset) {
                return OptionalLong.of(offset);
            }
        }
        return OptionalLong.empty();
    }

    /** Producers with an ongoing transaction here. */
    public int ongoingTransactions() {
        return ongoing.size();
    }

    /** How many times the state changed; equal values mean the same state. Append lock. */
    long changes() {
        return changes;
    }

    // ---------------------------------------------------------------- package-private, append lock held

    /** Starts checking one append; the staged changes apply only on {@link Staged#commit}. */
    Staged stage() {
        return new Staged();
    }

    /**
     * Applies a stored batch without checks (recovery and follower replay); {@code marker} is what it is to
     * transactions ({@link TxnMarkers#read}). Returns the transaction a marker ended, if any.
     */
    Optional<CompletedTxn> replay(RecordBatchHeader header, TxnMarkers.Marker marker) {
        if (!header.hasProducerId()) {
            return Optional.empty();
        }
        ProducerEntry current = producers.get(header.producerId());
        put(next(current, header, marker));
        changes++;
        return completed(current, header, marker);
    }

    /** Applies a data batch without checks (tests, and batches known not to be markers). */
    void replay(RecordBatchHeader header) {
        replay(header, TxnMarkers.NOT_A_MARKER);
    }

    /** The transaction {@code marker}'s batch would end if replayed now, without replaying it. */
    Optional<CompletedTxn> wouldComplete(RecordBatchHeader header, TxnMarkers.Marker marker) {
        return header.hasProducerId() ? completed(producers.get(header.producerId()), header, marker)
                : Optional.empty();
    }

    /** Stores {@code next}, keeping {@link #ongoing} in step with its transaction. */
    private void put(ProducerEntry next) {
        ProducerEntry previous = producers.put(next.producerId(), next);
        long before = previous == null ? -1 : previous.currentTxnFirstOffset();
        if (before != next.currentTxnFirstOffset()) {
            if (before >= 0) {
                ongoing.remove(before, next.producerId());
            }
            if (next.currentTxnFirstOffset() >= 0) {
                ongoing.put(next.currentTxnFirstOffset(), next.producerId());
            }
        }
    }

    private void rebuildOngoing() {
        ConcurrentSkipListMap<Long, Long> rebuilt = new ConcurrentSkipListMap<>();
        for (ProducerEntry entry : producers.values()) {
            if (entry.currentTxnFirstOffset() >= 0) {
                rebuilt.put(entry.currentTxnFirstOffset(), entry.producerId());
            }
        }
        ongoing = rebuilt;
    }

    private static Optional<CompletedTxn> completed(ProducerEntry current, RecordBatchHeader header,
            TxnMarkers.Marker marker) {
        if (!marker.isMarker() || current == null || current.currentTxnFirstOffset() < 0) {
            return Optional.empty();
        }
        return Optional.of(new CompletedTxn(header.producerId(), current.currentTxnFirstOffset(), header.lastOffset(),
                marker.type() == TxnMarkers.ABORT));
    }

    /**
     * After a truncation (KIP-101): gives each producer of {@code producerIds} that this state still knows the entry
     * {@code replayed} has for it, or forgets it if {@code replayed} has none. {@code replayed} must hold what a
     * replay of the remaining log gives those producers (as on restart), which is what Kafka's
     * {@code UnifiedLog.truncateTo} rebuilds. Trimming the removed batches off the cached ones is not enough: only
     * the last {@value #MAX_CACHED_BATCHES} batches are cached, so a producer whose cached batches were all removed
     * would be forgotten although earlier batches of it remain, and its next batch accepted at any sequence.
     * Producers this state does not know (expired, see {@link #expire}) stay forgotten; producers outside
     * {@code producerIds} (no batch removed) keep their entry.
     */
    void restoreAfterTruncation(Set<Long> producerIds, ProducerStateManager replayed) {
        changes++;
        for (long producerId : producerIds) {
            ProducerEntry entry = replayed.producers.get(producerId);
            if (entry == null) {
                producers.remove(producerId);
            } else {
                producers.computeIfPresent(producerId, (id, previous) -> entry);
            }
        }
        rebuildOngoing();
    }

    void clear() {
        producers.clear();
        ongoing = new ConcurrentSkipListMap<>();
        changes++;
    }

    /** Replaces the whole state with {@code entries} (a snapshot being loaded). */
    void load(Collection<ProducerEntry> entries) {
        changes++;
        producers.clear();
        for (ProducerEntry entry : entries) {
            producers.put(entry.producerId(), entry);
        }
        rebuildOngoing();
    }

    /** Forgets producers whose last batch is below the new log start offset, as Kafka does after retention. */
    void truncateHead(long logStartOffset) {
        if (producers.values().removeIf(entry -> !entry.batches().isEmpty()
                && entry.batches().get(entry.batches().size() - 1).lastOffset() < logStartOffset
                && entry.currentTxnFirstOffset() < 0)) {
            changes++;
        }
    }

    /**
     * Forgets the producers whose last batch timestamp is at least {@code expirationMs} before {@code nowMs}
     * (Kafka's {@code ProducerStateManager.isProducerExpired}), unless it has an ongoing transaction here (its marker
     * must find it). A forgotten producer's next batch is accepted at any sequence, as for any producer the log does
     * not know.
     *
     * @return how many were forgotten
     */
    int expire(long nowMs, long expirationMs) {
        int before = producers.size();
        if (producers.values().removeIf(entry -> entry.currentTxnFirstOffset() < 0
                && nowMs - entry.lastTimestamp() >= expirationMs)) {
            changes++;
        }
        return before - producers.size();
    }

    private static ProducerEntry next(ProducerEntry current, RecordBatchHeader header, TxnMarkers.Marker marker) {
        ProducerEntry base = current != null ? current
                : new ProducerEntry(header.producerId(), header.producerEpoch(), List.of(), -1);
        BatchMetadata batch = header.baseSequence() == RecordBatchHeader.NO_SEQUENCE ? null
                : new BatchMetadata(header.baseSequence(), header.lastSequence(), header.baseOffset(),
                        header.lastOffset());
        ProducerEntry next = base.with(header.producerEpoch(), batch, header.maxTimestamp());
        if (marker.isMarker()) {
            return next.withMarker(marker.coordinatorEpoch());
        }
        if (header.isTransactional() && !header.isControl() && next.currentTxnFirstOffset() < 0) {
            return next.withTxnFirstOffset(header.baseOffset());
        }
        return next;
    }

    /** The producer-state changes of one append, checked batch by batch in order. */
    final class Staged {
        private final Map<Long, ProducerEntry> pending = new HashMap<>();
        private final List<CompletedTxn> completed = new ArrayList<>();

        private Staged() {
        }

        /**
         * Checks and stages a transaction marker of the producer, written by this leader for the coordinator: its
         * producer epoch must not be older than the producer's, nor its coordinator epoch older than the last
         * marker's (a zombie coordinator's marker is refused, as Kafka's {@code checkCoordinatorEpoch}).
         *
         * @throws LogException INVALID_PRODUCER_EPOCH or TRANSACTION_COORDINATOR_FENCED
         */
        void checkMarker(RecordBatchHeader header, TxnMarkers.Marker marker) {
            long pid = header.producerId();
            ProducerEntry current = pending.containsKey(pid) ? pending.get(pid) : producers.get(pid);
            if (current != null && header.producerEpoch() < current.producerEpoch()) {
                throw new LogException(LogError.INVALID_PRODUCER_EPOCH, "Marker of producer " + pid + " epoch "
                        + header.producerEpoch() + " is older than the current epoch " + current.producerEpoch());
            }
            if (current != null && marker.coordinatorEpoch() < current.coordinatorEpoch()) {
                throw new LogException(LogError.TRANSACTION_COORDINATOR_FENCED, "Marker of producer " + pid
                        + " from coordinator epoch " + marker.coordinatorEpoch() + ", older than the last marker's "
                        + current.coordinatorEpoch());
            }
            completed(current, header, marker).ifPresent(completed::add);
            pending.put(pid, next(current, header, marker));
        }

        /** The transactions the staged markers end, in order. */
        List<CompletedTxn> completedTxns() {
            return completed;
        }

        /**
         * Checks a batch whose offsets are already assigned (not yet stamped) and stages it.
         *
         * @return the original batch if this one is a retry of it (nothing is staged then)
         * @throws LogException OUT_OF_ORDER_SEQUENCE_NUMBER or INVALID_PRODUCER_EPOCH
         */
        Optional<BatchMetadata> check(RecordBatchHeader header) {
            if (!header.hasProducerId()) {
                return Optional.empty();
            }
            long pid = header.producerId();
            ProducerEntry current = pending.containsKey(pid) ? pending.get(pid) : producers.get(pid);
            short epoch = header.producerEpoch();
            if (current != null && epoch < current.producerEpoch()) {
                throw new LogException(LogError.INVALID_PRODUCER_EPOCH, "Producer " + pid + " epoch " + epoch
                        + " is older than the current epoch " + current.producerEpoch());
            }
            int firstSeq = header.baseSequence();
            if (firstSeq != RecordBatchHeader.NO_SEQUENCE && current != null) {
                Optional<BatchMetadata> duplicate = current.findDuplicate(epoch, firstSeq, header.lastSequence());
                if (duplicate.isPresent()) {
                    return duplicate;
                }
                checkSequence(current, epoch, firstSeq);
            }
            pending.put(pid, next(current, header, TxnMarkers.NOT_A_MARKER));
            return Optional.empty();
        }

        /** Kafka's ProducerAppendInfo.checkSequence, for a producer the log knows. */
        private void checkSequence(ProducerEntry current, short epoch, int firstSeq) {
            long pid = current.producerId();
            if (epoch != current.producerEpoch()) {
                if (firstSeq != 0) {
                    throw new LogException(LogError.OUT_OF_ORDER_SEQUENCE_NUMBER, "Producer " + pid
                            + " new epoch " + epoch + " must start at sequence 0, got " + firstSeq);
                }
                return;
            }
            int lastSeq = current.lastSequence();
            boolean inSequence = lastSeq == RecordBatchHeader.NO_SEQUENCE
                    || firstSeq == lastSeq + 1L
                    || (firstSeq == 0 && lastSeq == Integer.MAX_VALUE);
            if (!inSequence) {
                throw new LogException(LogError.OUT_OF_ORDER_SEQUENCE_NUMBER, "Producer " + pid + " epoch " + epoch
                        + ": expected sequence " + RecordBatchHeader.incrementSequence(lastSeq, 1) + ", got "
                        + firstSeq);
            }
        }

        /** Makes the staged changes visible; call after the batches are written. */
        void commit() {
            pending.values().forEach(ProducerStateManager.this::put);
            changes++;
        }
    }
}
