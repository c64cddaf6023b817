package io.tributary.node.it;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.Record;
import org.apache.kafka.common.record.RecordBatch;

/**
 * Reads a partition's stored bytes (its {@code .log} segments concatenated, see
 * {@link NodeProcess#partitionLogBytes}) with kafka-clients' own record classes, so that tests can say what a
 * replica holds, not only whether two replicas hold the same bytes.
 */
final class StoredLog {
    private StoredLog() {}

    /** One stored record: its offset, the leader epoch of its batch and its value (UTF-8; null if none). */
    record StoredRecord(long offset, int leaderEpoch, String value) {}

    /**
     * Every record of every complete batch in {@code bytes}, in stored order; a batch cut off at the end (a
     * snapshot taken during a write) is left out. Each batch's CRC is checked: a corrupt stored batch fails the test.
     */
    static List<StoredRecord> records(byte[] bytes) {
        List<StoredRecord> records = new ArrayList<>();
        for (RecordBatch batch : MemoryRecords.readableRecords(ByteBuffer.wrap(bytes)).batches()) {
            batch.ensureValid();
            for (Record record : batch) {
                String value = record.hasValue() ? StandardCharsets.UTF_8.decode(record.value()).toString() : null;
                records.add(new StoredRecord(record.offset(), batch.partitionLeaderEpoch(), value));
            }
        }
        return records;
    }

    /** The offset after the last complete batch in {@code bytes} (0 for none): the log end offset it stores. */
    static long endOffset(byte[] bytes) {
        long end = 0;
        for (RecordBatch batch : MemoryRecords.readableRecords(ByteBuffer.wrap(bytes)).batches()) {
            end = batch.nextOffset();
        }
        return end;
    }
}
