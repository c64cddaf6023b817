package io.tributary.node.txn;

import static io.tributary.node.txn.TransactionDecision.append;
import static io.tributary.node.txn.TransactionDecision.respond;

import io.tributary.node.txn.TransactionRecord.MetadataRecord;
import io.tributary.node.txn.TransactionRecord.Tombstone;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.LongSupplier;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.requests.TransactionResult;

/**
 * The transaction coordinator of ONE {@code __transaction_state} partition, as a deterministic core: no I/O, no
 * threads, no clock (time comes in as {@code nowMs}), no randomness (producer ids come from the injected supplier).
 * Follows Kafka's TransactionCoordinator / TransactionStateManager / TransactionMetadata, transactions v1 (KIP-98,
 * KIP-360, KIP-588; not KIP-890's v2: clients add partitions explicitly and every EndTxn keeps the epoch).
 *
 * <p>Threads: NOT thread-safe. The driver owns one instance per coordinated partition and calls it from one thread.
 *
 * <p>The driver's duties, in order:
 * <ol>
 *   <li>On becoming the partition's leader with leader epoch E: create a coordinator with {@code coordinatorEpoch}
 *       E, {@link #load} every record of the partition (answer COORDINATOR_LOAD_IN_PROGRESS meanwhile), then serve.
 *       </li>
 *   <li>{@link #initProducerId}, {@link #addPartitionsToTxn}, {@link #addOffsetsToTxn} and {@link #endTxn} decide
 *       without changing state: append the decision's records (acks=all), {@link #replay} each in log order, then
 *       send the response. With no records, send the response at once. If the append fails, call
 *       {@link #appendFailed} with each record and send {@link TransactionDecision#clientError}. If the outcome is
 *       unknown (the record may yet become durable), do not call {@code appendFailed}: resign and reload instead,
 *       as a successor would (the id stays CONCURRENT_TRANSACTIONS until then).</li>
 *   <li>After each replay (and after {@link #load}), send the markers of {@link #takeMarkers()}: WriteTxnMarkers to
 *       each partition's leader, retrying until every partition acknowledged (a deleted partition counts as
 *       written), then call {@link #markersWritten}; append and replay its records as in 2 (on failure,
 *       {@code appendFailed} and call {@code markersWritten} again later).</li>
 *   <li>Call {@link #onTick} regularly (every second is plenty): it aborts timed-out transactions and forgets
 *       expired transactional ids. Append and replay its records as in 2.</li>
 *   <li>On losing leadership: drop the instance and its outstanding responses (answer NOT_COORDINATOR); the
 *       successor re-sends the markers of every PrepareCommit/PrepareAbort it loads.</li>
 * </ol>
 *
 * <p>Errors are Kafka's. Handlers translate PRODUCER_FENCED to INVALID_PRODUCER_EPOCH for clients older than
 * KIP-588 (InitProducerId below v4, AddPartitionsToTxn, AddOffsetsToTxn and EndTxn below v2), as Kafka's KafkaApis
 * does. Only one transition per transactional id is in flight at a time (Kafka's {@code pendingState}): any request
 * for an id whose record is not yet replayed answers CONCURRENT_TRANSACTIONS, so every decision starts from the
 * durable state. Beyond the bounds of {@link TransactionCoordinatorConfig}, requests answer POLICY_VIOLATION.
 */
public final class TransactionCoordinator {

    private final TransactionCoordinatorConfig config;
    private final int coordinatorEpoch;
    private final LongSupplier producerIds;
    /** The durable state: changed only by {@link #replay} and {@link #load}. Sorted: iteration is deterministic. */
    private final SortedMap<String, TransactionMetadata> transactions = new TreeMap<>();
    /** The transition decided and not yet replayed, per transactional id (Kafka's pendingState). */
    private final Map<String, Pending> pending = new HashMap<>();
    private final List<TransactionMarkers> markerOutbox = new ArrayList<>();
    private boolean loaded;
    private long nextAbortCheckMs = Long.MIN_VALUE;
    private long nextExpirationCheckMs = Long.MIN_VALUE;

    /** @param target the state being entered; PrepareEpochFence for a fencing abort, Dead for a tombstone */
    private record Pending(TransactionRecord record, TransactionState target, boolean createsId) {
    }

    /**
     * @param coordinatorEpoch the leader epoch of the {@code __transaction_state} partition; stamped on markers
     * @param producerIds the next unused producer id, unique across the cluster and across coordinators (the driver
     *     hands out ids from the controller's producer-id blocks without blocking); a negative value means none is
     *     available yet, answered COORDINATOR_LOAD_IN_PROGRESS (retriable, as Kafka's RPCProducerIdManager does)
     */
    public TransactionCoordinator(TransactionCoordinatorConfig config, int coordinatorEpoch,
            LongSupplier producerIds) {
        this.config = Objects.requireNonNull(config);
        this.coordinatorEpoch = coordinatorEpoch;
        this.producerIds = Objects.requireNonNull(producerIds);
    }

    public int coordinatorEpoch() {
        return coordinatorEpoch;
    }

    // ---- client requests (decide; state changes on replay) ----

    /**
     * InitProducerId with a transactional id. A new id gets a new producer id at epoch 0; an idle one its epoch + 1,
     * or a new producer id once the epoch is exhausted; an Ongoing transaction is first aborted with the epoch bumped
     * (fencing its producer) and the caller answered CONCURRENT_TRANSACTIONS, so its retry gets the next epoch.
     *
     * @param expectedProducerId with {@code expectedProducerEpoch}: what the producer holds (KIP-360), or -1 and -1
     */
    public TransactionDecision<InitProducerIdResult> initProducerId(String transactionalId, int txnTimeoutMs,
            long expectedProducerId, short expectedProducerEpoch, long nowMs) {
        Objects.requireNonNull(transactionalId, "a null transactional id is an idempotent producer's, not ours");
        boolean hasExpected = expectedProducerId != RecordBatch.NO_PRODUCER_ID
                || expectedProducerEpoch != RecordBatch.NO_PRODUCER_EPOCH;
        if (transactionalId.isEmpty() || (hasExpected && (expectedProducerId == RecordBatch.NO_PRODUCER_ID
                || expectedProducerEpoch == RecordBatch.NO_PRODUCER_EPOCH))) {
            return initFailed(Errors.INVALID_REQUEST);
        }
        if (txnTimeoutMs <= 0 || txnTimeoutMs > config.transactionMaxTimeoutMs()) {
            return initFailed(Errors.INVALID_TRANSACTION_TIMEOUT);
        }
        if (pending.containsKey(transactionalId)) {
            return initFailed(Errors.CONCURRENT_TRANSACTIONS);
        }
        TransactionMetadata current = transactions.get(transactionalId);
        if (current == null) {
            if (transactionalIdCount() >= config.maxTransactionalIdsPerPartition()) {
                return initFailed(Errors.POLICY_VIOLATION);
            }
            long producerId = producerIds.getAsLong();
            if (producerId < 0) {
                return initFailed(Errors.COORDINATOR_LOAD_IN_PROGRESS);
            }
            // Any expected producer id is accepted for a new id (Kafka: a fresh metadata has epoch -1).
            return proposeInit(TransactionMetadata.created(transactionalId, producerId, txnTimeoutMs, nowMs), true);
        }
        if (hasExpected && !isValidProducerId(current, expectedProducerId, expectedProducerEpoch)) {
            return initFailed(Errors.PRODUCER_FENCED);
        }
        switch (current.state()) {
            case PREPARE_COMMIT, PREPARE_ABORT -> {
                return initFailed(Errors.CONCURRENT_TRANSACTIONS);
            }
            case ONGOING -> {
                // The epoch of the fencing abort is never returned: the retry after it bumps once more.
                TransactionRecord record = propose(current.prepareFenceAndAbort(nowMs),
                        TransactionState.PREPARE_EPOCH_FENCE, false);
                return append(record, InitProducerIdResult.failed(Errors.CONCURRENT_TRANSACTIONS));
            }
            default -> {
                TransactionMetadata next;
                if (current.isProducerEpochExhausted()
                        && (!hasExpected || expectedProducerEpoch == current.producerEpoch())) {
                    long producerId = producerIds.getAsLong();
                    if (producerId < 0) {
                        return initFailed(Errors.COORDINATOR_LOAD_IN_PROGRESS);
                    }
                    next = current.prepareProducerIdRotation(producerId, txnTimeoutMs, hasExpected, nowMs);
                } else {
                    next = current.prepareIncrementProducerEpoch(txnTimeoutMs,
                            hasExpected ? expectedProducerEpoch : RecordBatch.NO_PRODUCER_EPOCH, nowMs);
                    if (next == null) {
                        return initFailed(Errors.PRODUCER_FENCED);
                    }
                }
                return proposeInit(next, false);
            }
        }
    }

    /**
     * Kafka's isValidProducerId: the expected producer id is the current one (its epoch is judged next), or the one
     * before a rotation with an exhausted epoch (a retry of that rotation).
     */
    private static boolean isValidProducerId(TransactionMetadata current, long expectedProducerId,
            short expectedProducerEpoch) {
        return expectedProducerId == current.producerId()
                || (expectedProducerId == current.previousProducerId()
                        && TransactionMetadata.isEpochExhausted(expectedProducerEpoch));
    }

    private TransactionDecision<InitProducerIdResult> proposeInit(TransactionMetadata next, boolean createsId) {
        TransactionRecord record = propose(next, TransactionState.EMPTY, createsId);
        return append(record, new InitProducerIdResult(Errors.NONE, next.producerId(), next.producerEpoch()));
    }

    private static TransactionDecision<InitProducerIdResult> initFailed(Errors error) {
        return respond(InitProducerIdResult.failed(error));
    }

    /**
     * AddPartitionsToTxn from a client (v0-3): the partitions join the transaction, which becomes Ongoing (starting
     * its timeout clock if it was idle). Partitions already in an Ongoing transaction answer NONE at once.
     */
    public TransactionDecision<Errors> addPartitionsToTxn(String transactionalId, long producerId,
            short producerEpoch, Collection<TopicPartition> partitions, long nowMs) {
        Objects.requireNonNull(partitions);
        Errors error = validateProducer(transactionalId, producerId, producerEpoch);
        if (error != Errors.NONE) {
            return respond(error);
        }
        TransactionMetadata current = transactions.get(transactionalId);
        if (current.state() == TransactionState.ONGOING && current.partitions().containsAll(partitions)) {
            return respond(Errors.NONE);
        }
        TransactionMetadata next = current.prepareAddPartitions(partitions, nowMs);
        if (next.partitions().size() > config.maxPartitionsPerTransaction()) {
            return respond(Errors.POLICY_VIOLATION);
        }
        return append(propose(next, TransactionState.ONGOING, false), Errors.NONE);
    }

    /**
     * AddOffsetsToTxn: adds the group's {@code __consumer_offsets} partition (the caller computes
     * {@code offsetsPartition} from the group id, as Kafka's handleAddOffsetsToTransaction does).
     */
    public TransactionDecision<Errors> addOffsetsToTxn(String transactionalId, long producerId, short producerEpoch,
            TopicPartition offsetsPartition, long nowMs) {
        return addPartitionsToTxn(transactionalId, producerId, producerEpoch,
                List.of(Objects.requireNonNull(offsetsPartition)), nowMs);
    }

    /**
     * EndTxn from a client: Ongoing becomes PrepareCommit or PrepareAbort; the response goes once that record is
     * durable (the markers follow asynchronously, as in Kafka). A retry after completion answers NONE; the other
     * outcome's request, or any on an Empty id, INVALID_TXN_STATE. While the markers are written (Prepare*), any
     * EndTxn answers CONCURRENT_TRANSACTIONS: Kafka holds the pending Complete* transition during that time.
     */
    public TransactionDecision<Errors> endTxn(String transactionalId, long producerId, short producerEpoch,
            TransactionResult result, long nowMs) {
        Objects.requireNonNull(result);
        Errors error = validateProducer(transactionalId, producerId, producerEpoch);
        if (error != Errors.NONE) {
            return respond(error);
        }
        TransactionMetadata current = transactions.get(transactionalId);
        boolean commit = result == TransactionResult.COMMIT;
        return switch (current.state()) {
            case ONGOING -> append(propose(current.prepareAbortOrCommit(commit ? TransactionState.PREPARE_COMMIT
                    : TransactionState.PREPARE_ABORT, nowMs), null, false), Errors.NONE);
            case COMPLETE_COMMIT -> respond(commit ? Errors.NONE : Errors.INVALID_TXN_STATE);
            case COMPLETE_ABORT -> respond(commit ? Errors.INVALID_TXN_STATE : Errors.NONE);
            default -> respond(Errors.INVALID_TXN_STATE);
        };
    }

    /** The checks AddPartitionsToTxn and EndTxn share, in Kafka's order; NONE if the request may proceed. */
    private Errors validateProducer(String transactionalId, long producerId, short producerEpoch) {
        Objects.requireNonNull(transactionalId);
        if (transactionalId.isEmpty()) {
            return Errors.INVALID_REQUEST;
        }
        TransactionMetadata current = transactions.get(transactionalId);
        if (current == null || current.producerId() != producerId) {
            return Errors.INVALID_PRODUCER_ID_MAPPING;
        }
        if (current.producerEpoch() != producerEpoch) {
            return Errors.PRODUCER_FENCED;
        }
        if (pending.containsKey(transactionalId) || current.state().isPrepare()) {
            return Errors.CONCURRENT_TRANSACTIONS;
        }
        return Errors.NONE;
    }

    // ---- markers and time ----

    /** The markers required by every PrepareCommit/PrepareAbort replayed or loaded since the last call. */
    public List<TransactionMarkers> takeMarkers() {
        List<TransactionMarkers> taken = List.copyOf(markerOutbox);
        markerOutbox.clear();
        return taken;
    }

    /**
     * Every marker of the transaction {@code (producerId, producerEpoch)} of {@code transactionalId} was written:
     * returns its CompleteCommit/CompleteAbort record to append and replay, or nothing if that transaction is no
     * longer the one being prepared (a duplicate report) or its completion is already in flight.
     */
    public List<TransactionRecord> markersWritten(String transactionalId, long producerId, short producerEpoch,
            long nowMs) {
        TransactionMetadata current = transactions.get(transactionalId);
        if (current == null || !current.state().isPrepare() || current.producerId() != producerId
                || current.producerEpoch() != producerEpoch || pending.containsKey(transactionalId)) {
            return List.of();
        }
        return List.of(propose(current.prepareComplete(nowMs), null, false));
    }

    /**
     * Acts on the deadlines that have passed, each check at most once per its configured interval: aborts every
     * Ongoing transaction older than its timeout with the epoch bumped, so the producer is fenced (Kafka's
     * abortTimedOutTransactions), and writes a tombstone for every idle id not updated for
     * {@code transactional.id.expiration.ms}. Returns the records to append and replay.
     */
    public List<TransactionRecord> onTick(long nowMs) {
        List<TransactionRecord> records = new ArrayList<>();
        if (nowMs >= nextAbortCheckMs) {
            nextAbortCheckMs = nowMs + config.abortTimedOutTransactionsIntervalMs();
            for (TransactionMetadata m : transactions.values()) {
                if (m.state() == TransactionState.ONGOING && !pending.containsKey(m.transactionalId())
                        && m.txnStartTimestampMs() + m.txnTimeoutMs() < nowMs) {
                    records.add(propose(m.prepareFenceAndAbort(nowMs), TransactionState.PREPARE_EPOCH_FENCE, false));
                }
            }
        }
        if (nowMs >= nextExpirationCheckMs) {
            nextExpirationCheckMs = nowMs + config.removeExpiredTransactionalIdsIntervalMs();
            for (TransactionMetadata m : transactions.values()) {
                if (m.state().isIdle() && !pending.containsKey(m.transactionalId())
                        && m.txnLastUpdateTimestampMs() <= nowMs - config.transactionalIdExpirationMs()) {
                    Tombstone tombstone = new Tombstone(m.transactionalId());
                    m.state().checkTransitionTo(TransactionState.DEAD);
                    pending.put(m.transactionalId(), new Pending(tombstone, TransactionState.DEAD, false));
                    records.add(tombstone);
                }
            }
        }
        return records;
    }

    // ---- persistence ----

    private TransactionRecord propose(TransactionMetadata next, TransactionState target, boolean createsId) {
        TransactionRecord record = new MetadataRecord(next);
        Pending previous = pending.putIfAbsent(next.transactionalId(),
                new Pending(record, target == null ? next.state() : target, createsId));
        if (previous != null) {
            throw new IllegalStateException("a second transition in flight for " + next.transactionalId());
        }
        return record;
    }

    /**
     * Applies a record this coordinator decided, once durable, in log order: the record becomes the id's state
     * (checked against the transition table: a violation is a coordinator bug and fails loudly), its pending
     * transition ends, and a PrepareCommit/PrepareAbort queues its markers for {@link #takeMarkers()}.
     */
    public void replay(TransactionRecord record) {
        String id = record.transactionalId();
        TransactionMetadata previous = transactions.get(id);
        if (record instanceof MetadataRecord r) {
            checkSuccessor(previous, r.metadata());
        } else if (previous != null) {
            previous.state().checkTransitionTo(TransactionState.DEAD);
        }
        pending.remove(id);
        apply(record);
    }

    /** The record decided for an id did not become durable: the id accepts requests again. */
    public void appendFailed(TransactionRecord record) {
        Pending p = pending.get(record.transactionalId());
        if (p != null && p.record().equals(record)) {
            pending.remove(record.transactionalId());
        }
    }

    /**
     * Rebuilds the state of a new coordinator from every record of the partition, in log order (compacted or not:
     * each record is an id's whole state), then queues the markers of every PrepareCommit/PrepareAbort, which a
     * predecessor may not have finished (Kafka's loadTransactionsForTxnTopicPartition). Must be called once, before
     * any other call; {@code records} may read the log lazily.
     */
    public void load(Iterable<TransactionRecord> records) {
        if (loaded || !transactions.isEmpty() || !pending.isEmpty()) {
            throw new IllegalStateException("load() on a coordinator that already has state");
        }
        loaded = true;
        for (TransactionRecord record : records) {
            if (record instanceof MetadataRecord r) {
                transactions.put(record.transactionalId(), r.metadata());
            } else {
                transactions.remove(record.transactionalId());
            }
        }
        for (TransactionMetadata m : transactions.values()) {
            if (m.state().isPrepare()) {
                markerOutbox.add(markersOf(m));
            }
        }
    }

    private void apply(TransactionRecord record) {
        loaded = true;
        if (record instanceof MetadataRecord r) {
            transactions.put(record.transactionalId(), r.metadata());
            if (r.metadata().state().isPrepare()) {
                markerOutbox.add(markersOf(r.metadata()));
            }
        } else {
            transactions.remove(record.transactionalId());
        }
    }

    /** The transition table, and epochs that never go back within a producer id; a new producer id starts at 0. */
    private static void checkSuccessor(TransactionMetadata previous, TransactionMetadata next) {
        if (previous == null) {
            if (next.state() != TransactionState.EMPTY) {
                throw new IllegalStateException("transactional id " + next.transactionalId() + " starts "
                        + next.state().kafkaName());
            }
            return;
        }
        previous.state().checkTransitionTo(next.state());
        boolean sameProducer = previous.producerId() == next.producerId();
        if (sameProducer ? next.producerEpoch() < previous.producerEpoch()
                : next.producerEpoch() != 0 || next.previousProducerId() != previous.producerId()) {
            throw new IllegalStateException("producer " + previous.producerId() + "/" + previous.producerEpoch()
                    + " cannot become " + next.producerId() + "/" + next.producerEpoch() + " for "
                    + next.transactionalId());
        }
    }

    private TransactionMarkers markersOf(TransactionMetadata m) {
        return new TransactionMarkers(m.transactionalId(), m.producerId(), m.producerEpoch(),
                m.state() == TransactionState.PREPARE_COMMIT ? TransactionResult.COMMIT : TransactionResult.ABORT,
                coordinatorEpoch, List.copyOf(m.partitions()));
    }

    private int transactionalIdCount() {
        int creating = 0;
        for (Pending p : pending.values()) {
            creating += p.createsId() ? 1 : 0;
        }
        return transactions.size() + creating;
    }

    // ---- admin ----

    /** DescribeTransactions: the durable state of the id, or empty (Kafka: TRANSACTIONAL_ID_NOT_FOUND). */
    public Optional<TransactionMetadata> describe(String transactionalId) {
        return Optional.ofNullable(transactions.get(transactionalId));
    }

    /**
     * ListTransactions (v0-1): the ids matching every given filter, in id order. An empty filter matches all;
     * {@code minDurationMs} (KIP-994, -1 for none) keeps transactions started more than that long before
     * {@code nowMs}. State names are Kafka's, matched exactly; unknown ones are reported back.
     */
    public ListTransactionsResult listTransactions(Collection<String> stateFilters,
            Collection<Long> producerIdFilters, long minDurationMs, long nowMs) {
        Set<TransactionState> states = new LinkedHashSet<>();
        List<String> unknown = new ArrayList<>();
        for (String name : stateFilters) {
            TransactionState state = TransactionState.fromKafkaName(name);
            if (state == null) {
                unknown.add(name);
            } else {
                states.add(state);
            }
        }
        List<ListTransactionsResult.Listing> listed = new ArrayList<>();
        for (TransactionMetadata m : transactions.values()) {
            if ((stateFilters.isEmpty() || states.contains(m.state()))
                    && (producerIdFilters.isEmpty() || producerIdFilters.contains(m.producerId()))
                    && (minDurationMs < 0 || nowMs - m.txnStartTimestampMs() > minDurationMs)) {
                listed.add(new ListTransactionsResult.Listing(m.transactionalId(), m.producerId(),
                        m.state().kafkaName()));
            }
        }
        return new ListTransactionsResult(listed, unknown);
    }

    /** The durable state of every transactional id, in id order (for metrics and tests). */
    public SortedMap<String, TransactionMetadata> snapshot() {
        return java.util.Collections.unmodifiableSortedMap(new TreeMap<>(transactions));
    }

    /** Whether a transition of the id is decided and not yet replayed. */
    public boolean hasPendingTransition(String transactionalId) {
        return pending.containsKey(transactionalId);
    }
}
