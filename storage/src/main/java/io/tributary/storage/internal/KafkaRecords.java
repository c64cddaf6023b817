package io.tributary.storage.internal;

import io.tributary.storage.LogError;
import io.tributary.storage.LogException;
import io.tributary.storage.RecordBatchHeader;
import io.tributary.storage.TimestampOffset;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.record.BaseRecords;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.Record;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.utils.BufferSupplier;
import org.apache.kafka.common.utils.CloseableIterator;

/**
 * The one place that imports kafka-clients' {@code org.apache.kafka.common.record} package. Kafka 4.3 moves that
 * package to {@code ...record.internal}; when upgrading, only this class changes.
 *
 * <p>The log parses batch headers itself ({@link io.tributary.storage.RecordBatchHeader}); this adapter is
 * for looking inside batches (record timestamps, which may need decompression) and for broker-node, which moves
 * record bytes between the Kafka protocol's {@code BaseRecords} and the log's {@code ByteBuffer}s.
 *
 * <p>Stateless; any thread.
 */
public final class KafkaRecords {

    private KafkaRecords() {
    }

    /** Views {@code buffer} (position to limit, not copied) as Kafka records for a protocol message. */
    public static BaseRecords wrap(ByteBuffer buffer) {
        return MemoryRecords.readableRecords(buffer);
    }

    /**
     * The bytes of records received in a protocol message, not copied: a duplicate of the {@code MemoryRecords}
     * buffer, so moving its position does not affect the records.
     *
     * @throws IllegalArgumentException if {@code records} is not a {@code MemoryRecords} (e.g. file records)
     */
    public static ByteBuffer unwrap(BaseRecords records) {
        if (records instanceof MemoryRecords memoryRecords) {
            return memoryRecords.buffer().duplicate();
        }
        throw new IllegalArgumentException("Expected MemoryRecords, got "
                + (records == null ? "null" : records.getClass().getName()));
    }

    /**
     * The first record with timestamp >= {@code timestamp} in the stored batches of {@code batches} (position to
     * limit), decompressing as needed. Offsets are those stored in the batches.
     *
     * @throws LogException CORRUPT_MESSAGE if a batch cannot be decoded
     */
    public static Optional<TimestampOffset> firstRecordAtOrAfter(ByteBuffer batches, long timestamp,
            long startingOffset) {
        try {
            for (RecordBatch batch : MemoryRecords.readableRecords(batches.duplicate()).batches()) {
                if (batch.maxTimestamp() < timestamp) {
                    continue;
                }
                try (CloseableIterator<Record> records = batch.streamingIterator(BufferSupplier.NO_CACHING)) {
                    while (records.hasNext()) {
                        Record record = records.next();
                        // Records below the log start offset (DeleteRecords inside a batch) are gone.
                        if (record.timestamp() >= timestamp && record.offset() >= startingOffset) {
                            return Optional.of(new TimestampOffset(record.timestamp(), record.offset()));
                        }
                    }
                }
            }
            return Optional.empty();
        } catch (KafkaException | IllegalStateException | IllegalArgumentException e) {
            throw new LogException(LogError.CORRUPT_MESSAGE, "Cannot decode stored batch: " + e.getMessage());
        }
    }

    /** One record of a batch: its offset, key and value (null for a null key/value). */
    public record KeyValue(long offset, byte[] key, byte[] value) {}

    /** Builds one uncompressed batch of key/value records (offsets from 0; the log assigns the real ones). */
    public static ByteBuffer batchOf(java.util.List<byte[]> keys, java.util.List<byte[]> values, long timestampMs) {
        org.apache.kafka.common.record.SimpleRecord[] records =
                new org.apache.kafka.common.record.SimpleRecord[keys.size()];
        for (int i = 0; i < records.length; i++) {
            records[i] = new org.apache.kafka.common.record.SimpleRecord(timestampMs, keys.get(i), values.get(i));
        }
        return MemoryRecords.withRecords(org.apache.kafka.common.compress.Compression.NONE, records).buffer();
    }

    /** Kafka's {@code RecordBatch.NO_SEQUENCE}: a batch whose producer's sequences are not checked. */
    public static final int NO_SEQUENCE = RecordBatch.NO_SEQUENCE;
    /** Kafka's {@code RecordBatch.NO_PRODUCER_ID}. */
    public static final long NO_PRODUCER_ID = RecordBatch.NO_PRODUCER_ID;

    /**
     * Builds one uncompressed transactional batch of key/value records of the producer (offsets from 0; the log
     * assigns the real ones). {@code baseSequence} may be {@link #NO_SEQUENCE}, for a batch that a coordinator writes
     * into the producer's transaction: the log then checks the producer's epoch but no sequence. (Kafka's group
     * coordinator writes sequence 0 and its log skips the check for appends of origin COORDINATOR; kafka-clients'
     * builder refuses a data batch with a producer id and no sequence, so the sequence is set here, and the CRC
     * recomputed.)
     */
    public static ByteBuffer transactionalBatchOf(java.util.List<byte[]> keys, java.util.List<byte[]> values,
            long timestampMs, long producerId, short producerEpoch, int baseSequence) {
        org.apache.kafka.common.record.SimpleRecord[] records =
                new org.apache.kafka.common.record.SimpleRecord[keys.size()];
        for (int i = 0; i < records.length; i++) {
            records[i] = new org.apache.kafka.common.record.SimpleRecord(timestampMs, keys.get(i), values.get(i));
        }
        ByteBuffer batch = MemoryRecords.withTransactionalRecords(org.apache.kafka.common.compress.Compression.NONE,
                producerId, producerEpoch, baseSequence == NO_SEQUENCE ? 0 : baseSequence, records).buffer();
        if (baseSequence == NO_SEQUENCE) {
            int start = batch.position();
            batch.putInt(start + RecordBatchHeader.BASE_SEQUENCE_OFFSET, NO_SEQUENCE);
            batch.putInt(start + RecordBatchHeader.CRC_OFFSET,
                    RecordBatchHeader.computeCrc(batch, start, batch.remaining()));
        }
        return batch;
    }

    /**
     * One stored batch as a reader of a transactional log needs it: its producer id ({@link #NO_PRODUCER_ID} if
     * none), whether it is transactional and whether it is a control batch; for a control batch the end-transaction
     * marker type ({@code 0} ABORT, {@code 1} COMMIT, Kafka's {@code ControlRecordType}; {@code -1} for another
     * control record, or a data batch) and no records; for a data batch its records, decompressed, in offset order.
     */
    public record Batch(long baseOffset, long lastOffset, long producerId, boolean transactional, boolean control,
            int markerType, java.util.List<KeyValue> records) {
        public Batch {
            records = java.util.List.copyOf(records);
        }
    }

    /**
     * Every stored batch of {@code batches} (position to limit), in offset order.
     *
     * @throws RuntimeException if a batch or a marker cannot be read
     */
    public static java.util.List<Batch> batches(ByteBuffer batches) {
        java.util.List<Batch> out = new java.util.ArrayList<>();
        for (RecordBatch batch : MemoryRecords.readableRecords(batches.duplicate()).batches()) {
            java.util.List<KeyValue> records = new java.util.ArrayList<>();
            int markerType = -1;
            if (batch.isControlBatch()) {
                for (Record record : batch) {
                    if (record.hasKey()) {
                        var type = org.apache.kafka.common.record.ControlRecordType.parse(record.key());
                        if (type == org.apache.kafka.common.record.ControlRecordType.ABORT
                                || type == org.apache.kafka.common.record.ControlRecordType.COMMIT) {
                            markerType = type.type();
                        }
                    }
                    break; // a marker batch has exactly one record
                }
            } else {
                try (CloseableIterator<Record> it = batch.streamingIterator(BufferSupplier.NO_CACHING)) {
                    while (it.hasNext()) {
                        Record r = it.next();
                        records.add(new KeyValue(r.offset(), bytes(r.key()), bytes(r.value())));
                    }
                }
            }
            out.add(new Batch(batch.baseOffset(), batch.lastOffset(), batch.producerId(), batch.isTransactional(),
                    batch.isControlBatch(), markerType, records));
        }
        return out;
    }

    /** A transaction marker batch at offset 0 (Kafka's bytes): COMMIT or ABORT of the producer's transaction. */
    public static ByteBuffer endTxnMarker(boolean commit, long producerId, short producerEpoch, int coordinatorEpoch,
            long timestampMs) {
        return MemoryRecords.withEndTransactionMarker(0L, timestampMs, RecordBatch.NO_PARTITION_LEADER_EPOCH,
                producerId, producerEpoch, new org.apache.kafka.common.record.EndTransactionMarker(commit
                        ? org.apache.kafka.common.record.ControlRecordType.COMMIT
                        : org.apache.kafka.common.record.ControlRecordType.ABORT, coordinatorEpoch)).buffer();
    }

    /**
     * The end-transaction marker of the control batch {@code batch} (exactly one batch): {type (0 ABORT, 1 COMMIT),
     * coordinator epoch}, or null if its first record is not one (another control record, no record, no key).
     *
     * @throws RuntimeException if the batch or its record cannot be read
     */
    public static int[] endTxnMarkerOf(ByteBuffer batch) {
        for (RecordBatch b : MemoryRecords.readableRecords(batch.slice()).batches()) {
            for (Record record : b) {
                if (!record.hasKey()) {
                    return null;
                }
                var type = org.apache.kafka.common.record.ControlRecordType.parse(record.key());
                if (type != org.apache.kafka.common.record.ControlRecordType.ABORT
                        && type != org.apache.kafka.common.record.ControlRecordType.COMMIT) {
                    return null;
                }
                var marker = org.apache.kafka.common.record.EndTransactionMarker.deserialize(record);
                return new int[] {type.type(), marker.coordinatorEpoch()};
            }
        }
        return null;
    }

    /** Every record of the stored batches, decompressed, in offset order. */
    public static java.util.List<KeyValue> records(ByteBuffer batches) {
        java.util.List<KeyValue> out = new java.util.ArrayList<>();
        forEachRecord(batches, r -> out.add(new KeyValue(r.offset(), bytes(r.key()), bytes(r.value()))));
        return out;
    }

    /** Every record of the data batches (control batches skipped), decompressed, in offset order. */
    private static void forEachRecord(ByteBuffer batches, java.util.function.Consumer<Record> visitor) {
        for (RecordBatch batch : MemoryRecords.readableRecords(batches.duplicate()).batches()) {
            if (batch.isControlBatch()) {
                continue;
            }
            try (CloseableIterator<Record> it = batch.streamingIterator(BufferSupplier.NO_CACHING)) {
                while (it.hasNext()) {
                    visitor.accept(it.next());
                }
            }
        }
    }

    /** Sees each data record's key (null if it has none; a read-only view valid during the call) and offset. */
    public interface KeyVisitor {
        void visit(ByteBuffer key, long offset);
    }

    /**
     * Calls {@code visitor} for every record of the data batches in {@code batches} (position to limit), in offset
     * order, decompressing as needed; control batches are skipped.
     *
     * @throws LogException CORRUPT_MESSAGE if a batch cannot be decoded
     */
    public static void forEachKey(ByteBuffer batches, KeyVisitor visitor) {
        try {
            forEachRecord(batches, r -> visitor.visit(r.hasKey() ? r.key().asReadOnlyBuffer() : null, r.offset()));
        } catch (KafkaException e) {
            throw new LogException(LogError.CORRUPT_MESSAGE, "cannot decode a stored batch: " + e.getMessage());
        }
    }

    /**
     * The indexes (in record order, from 0) of the data records in {@code batches} without a key: a compacted topic
     * refuses them, as Kafka does, naming each in the answer's record errors (KIP-467). Batches that cannot be
     * decoded give none: the append's own validation refuses them.
     */
    public static List<Integer> keylessRecordIndexes(ByteBuffer batches) {
        List<Integer> keyless = new ArrayList<>();
        int[] index = {0};
        try {
            forEachKey(batches, (key, offset) -> {
                if (key == null) {
                    keyless.add(index[0]);
                }
                index[0]++;
            });
        } catch (LogException e) {
            return List.of();
        }
        return keyless;
    }

    /** The offset after the last batch in {@code batches} (position to limit), or {@code ifNone} if it has none. */
    public static long endOffset(ByteBuffer batches, long ifNone) {
        long end = ifNone;
        for (RecordBatch batch : MemoryRecords.readableRecords(batches.duplicate()).batches()) {
            end = batch.lastOffset() + 1;
        }
        return end;
    }

    /** {@link BatchView#controlType} of a data batch, or of a control batch whose first record is unreadable. */
    public static final int CONTROL_TYPE_NONE = -1;
    /** {@link BatchView#controlType} of a control batch without a record. */
    public static final int CONTROL_TYPE_EMPTY = -2;

    /**
     * A stored batch as compaction sees it, before its records: its header, and for a control batch the type of its
     * first record (Kafka's {@code ControlRecordType} id: 0 ABORT, 1 COMMIT, others; or {@link #CONTROL_TYPE_EMPTY},
     * {@link #CONTROL_TYPE_NONE}).
     *
     * @param deleteHorizonMs the batch's delete horizon (KIP-534), if a clean set one
     */
    public record BatchView(long baseOffset, long lastOffset, long producerId, short producerEpoch,
            boolean transactional, boolean control, int controlType, java.util.OptionalLong deleteHorizonMs) {
    }

    /** What compaction does with one batch; the log decides ({@link CompactionRules#batchFate}). */
    public enum BatchFate {
        /** Data records filtered by key (latest, tombstones until their horizon), a control batch kept whole; the
         * batch goes if no record stays. */
        FILTER,
        /** As {@link #FILTER}, but the header stays even with no record left (its producer's last sequence). */
        FILTER_KEEP_HEADER,
        /** Every record goes, and the batch with them. */
        DISCARD,
        /** Every record goes; the header stays (its producer's last sequence). */
        DISCARD_KEEP_HEADER,
        /** A marker whose transaction has no data left: kept, and its delete horizon set if it has none (KIP-534). */
        KEEP_UNTIL_HORIZON
    }

    /** What compaction keeps (Kafka's LogCleaner rules; the log decides, this adapter only applies them). */
    public interface CompactionRules {
        /** The fate of the next batch, asked once per batch in log order, before any of its records. */
        BatchFate batchFate(BatchView batch);

        /** Whether the record with {@code key} at {@code offset} is the latest of its key. */
        boolean isLatest(ByteBuffer key, long offset);

        /** Told of each data record kept, right after the {@link #batchFate} of its batch. */
        default void recordKept() {
        }

        /** Told of each tombstone kept, with the time after which it goes. */
        default void tombstoneKept(long deleteHorizonMs) {
        }
    }

    /**
     * Compacts the whole batches in {@code batches} (position to limit) into a new buffer, which it returns ready to
     * read, doing with each batch what {@link CompactionRules#batchFate} says. The records of a filtered data batch:
     * of each key only the latest record stays, records without a key go, a tombstone (null value) stays until its
     * batch's delete horizon has passed; the first pass that keeps a tombstone sets that horizon in its batch to
     * {@code nowMs + deleteRetentionMs} (KIP-534), and so does the first that keeps a marker as
     * {@link BatchFate#KEEP_UNTIL_HORIZON}. Offsets never change: a batch keeps its base offset, last offset,
     * producer id, epoch and sequences whatever records it loses; a batch that loses every record goes, unless its
     * fate keeps its header (then its empty header stays).
     *
     * @throws LogException CORRUPT_MESSAGE if a batch cannot be decoded
     */
    public static ByteBuffer compact(ByteBuffer batches, CompactionRules rules, long nowMs, long deleteRetentionMs,
            int maxBatchBytes) {
        MemoryRecords.RecordFilter filter = new MemoryRecords.RecordFilter(nowMs, deleteRetentionMs) {
            private BatchFate fate;

            @Override
            protected BatchRetentionResult checkBatchRetention(RecordBatch batch) {
                fate = rules.batchFate(new BatchView(batch.baseOffset(), batch.lastOffset(), batch.producerId(),
                        batch.producerEpoch(), batch.isTransactional(), batch.isControlBatch(), controlType(batch),
                        batch.deleteHorizonMs()));
                BatchRetention retention = switch (fate) {
                    case FILTER, KEEP_UNTIL_HORIZON -> BatchRetention.DELETE_EMPTY;
                    case FILTER_KEEP_HEADER, DISCARD_KEEP_HEADER -> BatchRetention.RETAIN_EMPTY;
                    case DISCARD -> BatchRetention.DELETE;
                };
                // the second argument makes filterTo set the delete horizon of a marker that has none
                return new BatchRetentionResult(retention, fate == BatchFate.KEEP_UNTIL_HORIZON);
            }

            @Override
            protected boolean shouldRetainRecord(RecordBatch batch, Record record) {
                if (fate == BatchFate.DISCARD || fate == BatchFate.DISCARD_KEEP_HEADER) {
                    return false;
                }
                if (batch.isControlBatch()) {
                    return true;
                }
                if (!record.hasKey() || !rules.isLatest(record.key().asReadOnlyBuffer(), record.offset())) {
                    return false;
                }
                if (!record.hasValue()) {
                    java.util.OptionalLong horizon = batch.deleteHorizonMs();
                    long dueMs = horizon.isPresent() ? horizon.getAsLong() : nowMs + deleteRetentionMs;
                    if (horizon.isPresent() && nowMs >= dueMs) {
                        return false;
                    }
                    rules.tombstoneKept(dueMs);
                }
                rules.recordKept();
                return true;
            }
        };
        try {
            ByteBuffer out = ByteBuffer.allocate(Math.max(64, batches.remaining()));
            MemoryRecords.FilterResult result = MemoryRecords.readableRecords(batches.duplicate())
                    .filterTo(filter, out, BufferSupplier.NO_CACHING, maxBatchBytes);
            ByteBuffer written = result.outputBuffer();
            written.flip();
            return written;
        } catch (KafkaException e) {
            throw new LogException(LogError.CORRUPT_MESSAGE, "cannot compact a stored batch: " + e.getMessage());
        }
    }

    /** The control type of a control batch's first record (see {@link BatchView}); unreadable is none. */
    private static int controlType(RecordBatch batch) {
        if (!batch.isControlBatch()) {
            return CONTROL_TYPE_NONE;
        }
        try (CloseableIterator<Record> records = batch.streamingIterator(BufferSupplier.NO_CACHING)) {
            if (!records.hasNext()) {
                return CONTROL_TYPE_EMPTY;
            }
            Record first = records.next();
            return first.hasKey()
                    ? org.apache.kafka.common.record.ControlRecordType.parseTypeId(first.key()) : CONTROL_TYPE_NONE;
        } catch (RuntimeException e) {
            return CONTROL_TYPE_NONE; // kept as any other control batch; TxnMarkers logs unreadable ones
        }
    }

    private static byte[] bytes(ByteBuffer buffer) {
        if (buffer == null) {
            return null;
        }
        byte[] b = new byte[buffer.remaining()];
        buffer.duplicate().get(b);
        return b;
    }

    /**
     * Kafka's {@code LogValidator} rewrite of the batches a leader appends (position to limit, not changed): a batch
     * whose codec is not {@code compressionType} ({@code producer}: any codec is kept) is rebuilt with that codec,
     * keeping its offsets, timestamps, keys, values, headers and producer fields (id, epoch, base sequence,
     * transactional); with {@code logAppendTimeMs} >= 0 every batch gets timestamp type LogAppendTime and that max
     * timestamp. The CRC of every changed batch is recomputed. Control batches and empty batches are copied as they
     * are.
     *
     * @param maxUncompressedBytes the most record bytes one batch may expand to while it is rebuilt (a bound on the
     *     memory a client's batch can make the node take)
     * @return a new buffer with the rewritten batches
     * @throws LogException MESSAGE_TOO_LARGE past {@code maxUncompressedBytes}, CORRUPT_MESSAGE if a batch cannot be
     *     decompressed
     */
    public static ByteBuffer rewrite(ByteBuffer batches, String compressionType, long logAppendTimeMs,
            long maxUncompressedBytes) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(batches.remaining() + 64);
        try {
            for (org.apache.kafka.common.record.MutableRecordBatch batch
                    : MemoryRecords.readableRecords(batches.duplicate()).batches()) {
                org.apache.kafka.common.record.CompressionType target = compressionType.equals("producer")
                        ? batch.compressionType() : compressionType.equals("uncompressed")
                        ? org.apache.kafka.common.record.CompressionType.NONE
                        : org.apache.kafka.common.record.CompressionType.forName(compressionType);
                ByteBuffer rewritten;
                if (target == batch.compressionType() || batch.isControlBatch() || batch.countOrNull() == null
                        || batch.countOrNull() == 0) {
                    rewritten = ByteBuffer.allocate(batch.sizeInBytes());
                    batch.writeTo(rewritten);
                    rewritten.flip();
                    if (logAppendTimeMs >= 0 && !batch.isControlBatch()) {
                        MemoryRecords.readableRecords(rewritten).batches().iterator().next()
                                .setMaxTimestamp(org.apache.kafka.common.record.TimestampType.LOG_APPEND_TIME,
                                        logAppendTimeMs);
                    }
                } else {
                    rewritten = recompress(batch, target, logAppendTimeMs, maxUncompressedBytes);
                }
                out.write(rewritten.array(), rewritten.arrayOffset() + rewritten.position(), rewritten.remaining());
            }
        } catch (KafkaException e) {
            throw new LogException(LogError.CORRUPT_MESSAGE, "Cannot read a batch to rewrite it: " + e.getMessage());
        }
        return ByteBuffer.wrap(out.toByteArray());
    }

    private static ByteBuffer recompress(RecordBatch batch, org.apache.kafka.common.record.CompressionType target,
            long logAppendTimeMs, long maxUncompressedBytes) {
        org.apache.kafka.common.record.MemoryRecordsBuilder builder = MemoryRecords.builder(
                ByteBuffer.allocate(Math.max(256, batch.sizeInBytes())), RecordBatch.MAGIC_VALUE_V2,
                org.apache.kafka.common.compress.Compression.of(target).build(),
                logAppendTimeMs >= 0 ? org.apache.kafka.common.record.TimestampType.LOG_APPEND_TIME
                        : org.apache.kafka.common.record.TimestampType.CREATE_TIME,
                batch.baseOffset(), logAppendTimeMs >= 0 ? logAppendTimeMs : RecordBatch.NO_TIMESTAMP,
                batch.producerId(), batch.producerEpoch(), batch.baseSequence(), batch.isTransactional(),
                batch.partitionLeaderEpoch());
        long expanded = 0;
        try (CloseableIterator<Record> records = batch.streamingIterator(BufferSupplier.NO_CACHING)) {
            while (records.hasNext()) {
                Record r = records.next();
                expanded += r.sizeInBytes();
                if (expanded > maxUncompressedBytes) {
                    throw new LogException(LogError.MESSAGE_TOO_LARGE, "A batch expands to more than "
                            + maxUncompressedBytes + " bytes of records while it is recompressed");
                }
                builder.appendWithOffset(r.offset(), r);
            }
        }
        return builder.build().buffer();
    }

    /**
     * KIP-937: null if every record's CreateTime in {@code batches} (position to limit) lies within
     * [{@code minTimestamp}, {@code maxTimestamp}], else Kafka's message for the first that does not.
     */
    public static String timestampOutOfRange(ByteBuffer batches, long minTimestamp, long maxTimestamp) {
        try {
            for (RecordBatch batch : MemoryRecords.readableRecords(batches.duplicate()).batches()) {
                if (batch.isControlBatch()) {
                    continue;
                }
                try (CloseableIterator<Record> records = batch.streamingIterator(BufferSupplier.NO_CACHING)) {
                    while (records.hasNext()) {
                        Record r = records.next();
                        if (r.timestamp() < minTimestamp || r.timestamp() > maxTimestamp) {
                            return "Timestamp " + r.timestamp() + " of message with offset " + r.offset()
                                    + " is out of range. The timestamp should be within [" + minTimestamp + ", "
                                    + maxTimestamp + "]";
                        }
                    }
                }
            }
        } catch (KafkaException e) {
            throw new LogException(LogError.CORRUPT_MESSAGE, "Cannot read a batch: " + e.getMessage());
        }
        return null;
    }
}
