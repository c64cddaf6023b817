package io.tributary.storage;

import io.tributary.storage.internal.KafkaRecords;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What one compaction pass knows of transactions (KIP-98; Kafka's {@code CleanedTransactionMetadata} plays this part
 * in its cleaner): which data batches belong to aborted transactions, and, as the pass rewrites the segments in
 * offset order, whether any batch of a transaction stays, which decides its marker and its aborted-transaction index
 * entry.
 *
 * <ul>
 *   <li>A transactional data batch of producer {@code p} at base offset {@code b} is <em>aborted</em> if the
 *       aborted-transaction index has {@code (p, first, marker)} with {@code first <= b < marker}. Its records never
 *       enter the key map ({@link #isAborted}) and every one goes; its header stays only if it holds its producer's
 *       last sequence.</li>
 *   <li>A marker's transaction has <em>data left</em> if a batch of it (a record, or a header kept for its
 *       producer's last sequence) stayed earlier in this pass. Every batch of a transaction precedes its marker, and a
 *       pass rewrites every segment from the first, so when the pass reaches the marker it knows. A marker with data
 *       left stays; one without goes once its delete horizon has passed (KIP-534: the first pass that sees it without
 *       data sets the horizon to {@code delete.retention.ms} from then).</li>
 *   <li>An ABORT marker whose transaction has data left keeps its index entry in the cleaned segment
 *       ({@link #takeIndexEntries}); otherwise the entry goes: no record is left for a read_committed reader to
 *       skip.</li>
 * </ul>
 *
 * <p>Bound: the aborted transactions that overlap the cleaned range (34 bytes each on disk, a few objects here), and
 * one id per producer with a committed transaction in progress in the pass.
 *
 * <p>Not thread-safe: one per pass, on the cleaner's thread. The batches must be shown in offset order.
 */
final class CleanedTransactions {
    /** Producer id -> its aborted transactions by first offset (a producer's transactions never overlap). */
    private final Map<Long, TreeMap<Long, AbortedTxn>> abortedByProducer = new HashMap<>();
    /** Marker offsets of the aborted transactions of which a batch stayed in this pass. */
    private final Set<Long> abortedWithData = new HashSet<>();
    /** Producers of which a batch of a committed (not aborted) transaction stayed since their last marker. */
    private final Set<Long> committedWithData = new HashSet<>();
    /** Index entries of the aborted transactions kept, for the segment being written. */
    private final List<AbortedTxn> indexEntries = new ArrayList<>();
    /** The producer of the data batch last shown if it is transactional, else -1. */
    private long currentProducer = -1;
    /** The aborted transaction of the data batch last shown, or null. */
    private AbortedTxn currentAborted;

    /** Knows the aborted transactions {@code aborted} (at least those overlapping the range cleaned). */
    CleanedTransactions(List<AbortedTxn> aborted) {
        for (AbortedTxn txn : aborted) {
            abortedByProducer.computeIfAbsent(txn.producerId(), p -> new TreeMap<>()).put(txn.firstOffset(), txn);
        }
    }

    /** The aborted transaction holding the data batch of {@code producerId} at {@code baseOffset}, or null. */
    AbortedTxn abortedTxnOf(long producerId, boolean transactional, long baseOffset) {
        if (!transactional) {
            return null;
        }
        TreeMap<Long, AbortedTxn> txns = abortedByProducer.get(producerId);
        var floor = txns == null ? null : txns.floorEntry(baseOffset);
        return floor != null && baseOffset < floor.getValue().lastOffset() ? floor.getValue() : null;
    }

    /** Whether the header belongs to an aborted transaction's data (its records must not enter the key map). */
    boolean isAborted(RecordBatchHeader header) {
        return !header.isControl() && abortedTxnOf(header.producerId(), header.isTransactional(),
                header.baseOffset()) != null;
    }

    /**
     * The rewrite reached a data batch; {@code headerKept}: its header stays whatever records it loses. Returns
     * whether all its records go (an aborted transaction's).
     */
    boolean onDataBatch(long producerId, boolean transactional, long baseOffset, boolean headerKept) {
        currentAborted = abortedTxnOf(producerId, transactional, baseOffset);
        currentProducer = transactional && currentAborted == null ? producerId : -1;
        if (headerKept) {
            batchStays();
        }
        return currentAborted != null;
    }

    /** A record of the data batch last shown stays. */
    void onRecordKept() {
        batchStays();
    }

    private void batchStays() {
        if (currentAborted != null) {
            abortedWithData.add(currentAborted.lastOffset());
        } else if (currentProducer >= 0) {
            committedWithData.add(currentProducer);
        }
    }

    /**
     * The rewrite reached a control batch of {@code producerId} at {@code offset} whose first record has
     * {@code controlType} ({@link KafkaRecords.BatchView#controlType}). Returns whether it may go once its delete
     * horizon passes: a marker whose transaction has no data left, or an empty control batch. An ABORT with data left
     * keeps its index entry ({@link #takeIndexEntries}). Any other control batch stays.
     */
    boolean onControlBatch(long producerId, int controlType, long offset) {
        currentProducer = -1;
        currentAborted = null;
        if (controlType == TxnMarkers.COMMIT) {
            return !committedWithData.remove(producerId);
        }
        if (controlType == TxnMarkers.ABORT) {
            // Data of the producer since its previous marker that no index entry called aborted (a lost or torn
            // .txnindex): the marker stays, or a replay of those batches would reopen the transaction for good.
            boolean unindexedData = committedWithData.remove(producerId);
            AbortedTxn txn = abortedTxnEndingAt(producerId, offset);
            if (txn != null && abortedWithData.remove(offset)) {
                indexEntries.add(txn);
                return false;
            }
            return !unindexedData; // no data left, or it aborted nothing here (a coordinator's retry)
        }
        return controlType == KafkaRecords.CONTROL_TYPE_EMPTY;
    }

    private AbortedTxn abortedTxnEndingAt(long producerId, long markerOffset) {
        TreeMap<Long, AbortedTxn> txns = abortedByProducer.get(producerId);
        var floor = txns == null ? null : txns.floorEntry(markerOffset);
        return floor != null && floor.getValue().lastOffset() == markerOffset ? floor.getValue() : null;
    }

    /** The index entries kept since the last call, in marker order: those of the segment just written. */
    List<AbortedTxn> takeIndexEntries() {
        List<AbortedTxn> taken = List.copyOf(indexEntries);
        indexEntries.clear();
        return taken;
    }
}
