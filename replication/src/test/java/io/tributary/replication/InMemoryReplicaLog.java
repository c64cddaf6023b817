package io.tributary.replication;

import io.tributary.storage.EpochEndOffset;
import io.tributary.storage.EpochEntry;
import io.tributary.storage.LogAppendResult;
import io.tributary.storage.LogReadResult;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.MutableRecordBatch;
import org.apache.kafka.common.record.Record;

/**
 * A {@link ReplicaLog} in memory for the simulation: Kafka RecordBatch v2 bytes, a leader-epoch list with the same
 * rules as {@code LeaderEpochCache}, and a flushed prefix: {@link #crash} loses everything written after the last
 * {@link #flush} (the leader-epoch checkpoint is kept, as it is fsynced on every change, and cut to the log end as
 * the loader does). No producer state (the simulation's producers are not idempotent).
 */
final class InMemoryReplicaLog implements ReplicaLog {

    /** One stored batch; {@code value} is its single record's value, for the invariants. */
    record Batch(long baseOffset, long lastOffset, int epoch, ByteBuffer bytes, String value) {}

    private final List<Batch> batches = new ArrayList<>();
    private final List<EpochEntry> epochs = new ArrayList<>();
    private long logEndOffset;
    /** Durable at once, as the real log's checkpoint; batches wholly below it are gone. */
    private long logStartOffset;
    private long flushedEndOffset;
    /** The lowest log end offset a truncation left since {@link #takeLowestTruncation}, Long.MAX_VALUE if none. */
    private long lowestTruncation = Long.MAX_VALUE;

    @Override
    public long logStartOffset() {
        return logStartOffset;
    }

    @Override
    public long logEndOffset() {
        return logEndOffset;
    }

    @Override
    public OptionalInt latestEpoch() {
        return epochs.isEmpty() ? OptionalInt.empty() : OptionalInt.of(epochs.get(epochs.size() - 1).epoch());
    }

    @Override
    public EpochEndOffset endOffsetForEpoch(int requestedEpoch) {
        if (requestedEpoch == EpochEndOffset.UNDEFINED_EPOCH || epochs.isEmpty()) {
            return EpochEndOffset.UNDEFINED;
        }
        if (epochs.get(epochs.size() - 1).epoch() == requestedEpoch) {
            return new EpochEndOffset(requestedEpoch, logEndOffset);
        }
        EpochEntry floor = null;
        for (EpochEntry entry : epochs) {
            if (entry.epoch() > requestedEpoch) {
                return floor == null ? new EpochEndOffset(requestedEpoch, entry.startOffset())
                        : new EpochEndOffset(floor.epoch(), entry.startOffset());
            }
            floor = entry;
        }
        return EpochEndOffset.UNDEFINED;
    }

    @Override
    public void assignEpoch(int epoch) {
        requireCurrentEpoch(epoch);
        assign(epoch, logEndOffset);
    }

    private void requireCurrentEpoch(int epoch) {
        OptionalInt latest = latestEpoch();
        if (epoch < 0 || (latest.isPresent() && epoch < latest.getAsInt())) {
            throw new IllegalArgumentException("leader epoch " + epoch + " is older than the latest " + latest);
        }
    }

    private void assign(int epoch, long startOffset) {
        if (!epochs.isEmpty()) {
            EpochEntry latest = epochs.get(epochs.size() - 1);
            if (latest.epoch() == epoch && latest.startOffset() <= startOffset) {
                return;
            }
        }
        epochs.removeIf(e -> e.epoch() >= epoch || e.startOffset() >= startOffset);
        epochs.add(new EpochEntry(epoch, startOffset));
    }

    @Override
    public LogAppendResult append(ByteBuffer input, int leaderEpoch) {
        requireCurrentEpoch(leaderEpoch);
        ByteBuffer copy = ByteBuffer.allocate(input.remaining());
        copy.put(input.duplicate()).flip();
        long first = logEndOffset;
        OptionalInt latest = latestEpoch();
        if (latest.isEmpty() || leaderEpoch > latest.getAsInt()) {
            assign(leaderEpoch, logEndOffset);
        }
        for (MutableRecordBatch batch : MemoryRecords.readableRecords(copy).batches()) {
            long count = batch.lastOffset() - batch.baseOffset();
            batch.setLastOffset(logEndOffset + count);
            batch.setPartitionLeaderEpoch(leaderEpoch);
            store(batch);
        }
        return new LogAppendResult(first, logEndOffset - 1, -1, -1, false);
    }

    @Override
    public void appendAsFollower(ByteBuffer input) {
        ByteBuffer copy = ByteBuffer.allocate(input.remaining());
        copy.put(input.duplicate()).flip();
        for (MutableRecordBatch batch : MemoryRecords.readableRecords(copy).batches()) {
            if (batch.baseOffset() < logEndOffset) {
                throw new IllegalArgumentException("follower append at " + batch.baseOffset() + " below the end "
                        + logEndOffset);
            }
            batch.ensureValid();
            OptionalInt latest = latestEpoch();
            int epoch = batch.partitionLeaderEpoch();
            if (epoch >= 0 && (latest.isEmpty() || epoch > latest.getAsInt())) {
                assign(epoch, batch.baseOffset());
            }
            store(batch);
        }
    }

    private void store(MutableRecordBatch batch) {
        ByteBuffer bytes = ByteBuffer.allocate(batch.sizeInBytes());
        batch.writeTo(bytes);
        bytes.flip();
        String value = null;
        for (Record r : batch) {
            value = StandardCharsets.UTF_8.decode(r.value()).toString();
        }
        batches.add(new Batch(batch.baseOffset(), batch.lastOffset(), batch.partitionLeaderEpoch(), bytes, value));
        logEndOffset = batch.lastOffset() + 1;
    }

    @Override
    public LogReadResult read(long offset, int maxBytes, long maxOffsetExclusive) {
        if (offset < logStartOffset || offset > logEndOffset) {
            throw new IllegalArgumentException("offset " + offset + " outside [" + logStartOffset + ", "
                    + logEndOffset + "]");
        }
        List<ByteBuffer> out = new ArrayList<>();
        int size = 0;
        for (Batch b : batches) {
            if (b.lastOffset() < offset || b.lastOffset() >= maxOffsetExclusive) {
                continue;
            }
            if (!out.isEmpty() && size + b.bytes().remaining() > maxBytes) {
                break;
            }
            out.add(b.bytes().duplicate());
            size += b.bytes().remaining();
        }
        ByteBuffer result = ByteBuffer.allocate(size);
        out.forEach(result::put);
        result.flip();
        return new LogReadResult(result, logStartOffset, logEndOffset);
    }

    @Override
    public void truncateTo(long offset) {
        if (offset < logEndOffset) {
            if (offset < logStartOffset) {
                throw new IllegalArgumentException("truncation to " + offset + " below the start " + logStartOffset);
            }
            batches.removeIf(b -> b.lastOffset() >= offset);
            logEndOffset = batches.isEmpty() ? logStartOffset : batches.get(batches.size() - 1).lastOffset() + 1;
            logStartOffset = Math.min(logStartOffset, logEndOffset); // a cut batch straddled the start
            flushedEndOffset = Math.min(flushedEndOffset, logEndOffset);
            lowestTruncation = Math.min(lowestTruncation, logEndOffset);
        }
        long end = logEndOffset;
        epochs.removeIf(e -> e.startOffset() >= end);
    }

    @Override
    public long advanceLogStartOffset(long offset) {
        if (offset > logEndOffset) {
            throw new IllegalArgumentException("log start " + offset + " past the end " + logEndOffset);
        }
        if (offset > logStartOffset) {
            logStartOffset = offset;
            batches.removeIf(b -> b.lastOffset() < offset);
            long start = offset;
            // As LeaderEpochCache.truncateFromStart: the entry covering the start moves to it.
            EpochEntry covering = null;
            for (EpochEntry e : epochs) {
                if (e.startOffset() <= start) {
                    covering = e;
                }
            }
            epochs.removeIf(e -> e.startOffset() <= start);
            if (covering != null) {
                epochs.add(0, new EpochEntry(covering.epoch(), start));
            }
        }
        return logStartOffset;
    }

    @Override
    public void truncateFullyAndStartAt(long offset) {
        batches.clear();
        epochs.clear();
        logStartOffset = offset;
        logEndOffset = offset;
        flushedEndOffset = offset;
        lowestTruncation = Math.min(lowestTruncation, offset);
    }

    void flush() {
        flushedEndOffset = logEndOffset;
    }

    /** A power loss: what was not flushed is gone; the epoch list is cut to the new end as the loader does. */
    void crash() {
        long keep = flushedEndOffset;
        batches.removeIf(b -> b.lastOffset() >= keep);
        // Nothing left: everything below the (durable) start was deleted, what was above it not flushed.
        logEndOffset = batches.isEmpty() ? Math.min(logStartOffset, keep)
                : batches.get(batches.size() - 1).lastOffset() + 1;
        logStartOffset = Math.min(logStartOffset, logEndOffset); // as the loader: never past the end
        lowestTruncation = Math.min(lowestTruncation, logEndOffset);
        long end = logEndOffset;
        epochs.removeIf(e -> e.startOffset() >= end);
    }

    long takeLowestTruncation() {
        long lowest = lowestTruncation;
        lowestTruncation = Long.MAX_VALUE;
        return lowest;
    }

    /** The value stored at {@code offset}, null if none. */
    String valueAt(long offset) {
        for (int i = batches.size() - 1; i >= 0; i--) {
            Batch b = batches.get(i);
            if (b.baseOffset() <= offset && offset <= b.lastOffset()) {
                return b.value();
            }
            if (b.lastOffset() < offset) {
                return null;
            }
        }
        return null;
    }
}
