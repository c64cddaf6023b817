package io.tributary.replication;

import io.tributary.storage.EpochEndOffset;
import io.tributary.storage.LogAppendResult;
import io.tributary.storage.LogReadResult;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * What the replication core ({@link Partition}) needs of a partition's log: positions, the leader-epoch history,
 * appends as leader and follower, reads of stored batches, and truncation. {@link DiskReplicaLog} is the on-disk log;
 * the seeded simulation uses an in-memory one. Implementations are called under the partition's lock for every
 * change; reads may also come from other threads.
 */
public interface ReplicaLog {

    long logStartOffset();

    long logEndOffset();

    /** The epoch of the latest leader-epoch entry, empty if none. */
    OptionalInt latestEpoch();

    /** Where {@code epoch} ends in this log (KIP-101/320); {@link EpochEndOffset#UNDEFINED} if unknown. */
    EpochEndOffset endOffsetForEpoch(int epoch);

    /** Records that {@code epoch} starts at the log end offset (a new leader, before its first append). */
    void assignEpoch(int epoch);

    /** Leader append: validates, assigns offsets from the log end offset, stamps {@code leaderEpoch}. */
    LogAppendResult append(ByteBuffer batches, int leaderEpoch) throws IOException;

    /**
     * Follower append of batches carrying the leader's offsets and epochs, stored unchanged. {@code batches} is valid
     * only during the call (a view of the fetch answer's parse buffer): an implementation that keeps bytes copies them.
     */
    void appendAsFollower(ByteBuffer batches) throws IOException;

    /** Whole stored batches from {@code offset}, at least one if any, up to {@code maxBytes} otherwise. */
    LogReadResult read(long offset, int maxBytes, long maxOffsetExclusive) throws IOException;

    /**
     * Writes a transaction marker as leader in {@code leaderEpoch} ({@link io.tributary.storage.PartitionLog}); a log
     * without transactions (the simulation's) refuses.
     */
    default LogAppendResult appendTransactionMarker(long producerId, short producerEpoch, int coordinatorEpoch,
            boolean commit, int leaderEpoch) throws IOException {
        throw new UnsupportedOperationException("transaction markers on " + this);
    }

    /**
     * The first offset a read_committed reader may not read yet given the high watermark (an open transaction, or one
     * whose marker is not replicated), if any; none in a log without transactions.
     */
    default OptionalLong firstUnstableOffset(long highWatermark) {
        return OptionalLong.empty();
    }

    /** Told each time the replica's high watermark advances (the log forgets what no longer needs it). */
    default void onHighWatermark(long highWatermark) {
    }

    /** Removes every record at and above {@code offset} (whole batches). */
    void truncateTo(long offset) throws IOException;

    /**
     * Moves the log start offset up to {@code offset} (DeleteRecords; a follower taking its leader's start), deleting
     * what lies wholly below it, durably; a lower offset changes nothing.
     *
     * @return the log start offset afterwards
     */
    long advanceLogStartOffset(long offset) throws IOException;

    /** Empties the log and restarts it at {@code offset}. */
    void truncateFullyAndStartAt(long offset) throws IOException;
}
