package io.tributary.replication;

import io.tributary.storage.EpochEndOffset;
import io.tributary.storage.LogAppendResult;
import io.tributary.storage.LogReadResult;
import io.tributary.storage.PartitionLog;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.OptionalInt;
import java.util.OptionalLong;

/** The on-disk {@link PartitionLog} as the replication core sees it. */
record DiskReplicaLog(PartitionLog log) implements ReplicaLog {

    @Override
    public long logStartOffset() {
        return log.logStartOffset();
    }

    @Override
    public long logEndOffset() {
        return log.logEndOffset();
    }

    @Override
    public OptionalInt latestEpoch() {
        return log.latestEpoch();
    }

    @Override
    public EpochEndOffset endOffsetForEpoch(int epoch) {
        return log.endOffsetForEpoch(epoch);
    }

    @Override
    public void assignEpoch(int epoch) {
        log.assignEpoch(epoch);
    }

    @Override
    public LogAppendResult append(ByteBuffer batches, int leaderEpoch) throws IOException {
        LogAppendResult result = log.append(batches, leaderEpoch);
        log.maybeFlush(); // log.flush.interval.messages: on disk before it is acknowledged
        return result;
    }

    @Override
    public void appendAsFollower(ByteBuffer batches) throws IOException {
        log.appendAsFollower(batches);
        log.maybeFlush();
    }

    @Override
    public LogReadResult read(long offset, int maxBytes, long maxOffsetExclusive) throws IOException {
        return log.read(offset, maxBytes, maxOffsetExclusive);
    }

    @Override
    public LogAppendResult appendTransactionMarker(long producerId, short producerEpoch, int coordinatorEpoch,
            boolean commit, int leaderEpoch) throws IOException {
        LogAppendResult result = log.appendTransactionMarker(producerId, producerEpoch, coordinatorEpoch, commit,
                leaderEpoch);
        log.maybeFlush();
        return result;
    }

    @Override
    public void onHighWatermark(long highWatermark) {
        log.onHighWatermark(highWatermark);
    }

    @Override
    public OptionalLong firstUnstableOffset(long highWatermark) {
        return log.firstUnstableOffset(highWatermark);
    }

    @Override
    public void truncateTo(long offset) throws IOException {
        log.truncateTo(offset);
    }

    @Override
    public long advanceLogStartOffset(long offset) throws IOException {
        return log.advanceLogStartOffset(offset);
    }

    @Override
    public void truncateFullyAndStartAt(long offset) throws IOException {
        log.truncateFullyAndStartAt(offset);
    }
}
