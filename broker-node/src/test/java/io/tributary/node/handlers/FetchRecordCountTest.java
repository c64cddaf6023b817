package io.tributary.node.handlers;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.SimpleRecord;
import org.junit.jupiter.api.Test;

/** The record count of fetched batches, from their headers only (the consumer-out metrics). */
class FetchRecordCountTest {

    private static ByteBuffer batches(int... sizes) {
        ByteBuffer all = ByteBuffer.allocate(64 * 1024);
        long offset = 0;
        for (int size : sizes) {
            SimpleRecord[] records = new SimpleRecord[size];
            for (int i = 0; i < size; i++) {
                records[i] = new SimpleRecord(("v" + i).getBytes());
            }
            all.put(MemoryRecords.withRecords(offset, Compression.gzip().build(), records).buffer());
            offset += size;
        }
        return all.flip();
    }

    @Test
    void countsTheRecordsOfEveryWholeBatchCompressedOrNot() {
        assertThat(FetchHandler.recordCount(batches(1, 5, 3))).isEqualTo(9);
        assertThat(FetchHandler.recordCount(ByteBuffer.allocate(0))).isZero();
    }

    @Test
    void ignoresATruncatedLastBatch() {
        ByteBuffer whole = batches(4, 6);
        ByteBuffer truncated = whole.duplicate().limit(whole.limit() - 10);
        assertThat(FetchHandler.recordCount(truncated)).isEqualTo(4);
    }
}
