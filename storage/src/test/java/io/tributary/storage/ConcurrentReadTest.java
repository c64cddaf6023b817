package io.tributary.storage;

import static io.tributary.storage.TestBatches.batch;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.common.record.Record;
import org.apache.kafka.common.record.RecordBatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConcurrentReadTest {
    @TempDir
    Path dir;

    @Test
    void readersRacingAnAppenderOnlySeeWholeValidBatchesInOffsetOrder() throws Exception {
        LogConfig config = new LogConfig(4096, 3_600_000, -1, -1, 1_048_588, 128, 4096);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try (PartitionLog log = PartitionLog.open(dir, config, new TestBatches.MutableClock(0))) {
            int appends = 2000;
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    for (int i = 0; i < appends; i++) {
                        log.append(batch(1 + i % 3, i), 0);
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, pool);
            CompletableFuture<Long> reader = CompletableFuture.supplyAsync(() -> {
                long reads = 0;
                try {
                    while (!writer.isDone() || reads == 0) {
                        long end = log.logEndOffset();
                        long from = end == 0 ? 0 : (reads * 7919) % end;
                        LogReadResult result = log.read(from, 8192, Long.MAX_VALUE);
                        checkContiguous(result.records(), from, result.logEndOffset());
                        reads++;
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
                return reads;
            }, pool);

            writer.get(30, TimeUnit.SECONDS);
            assertThat(reader.get(30, TimeUnit.SECONDS)).isPositive();
            long records = 0;
            for (int i = 0; i < appends; i++) {
                records += 1 + i % 3;
            }
            assertThat(log.logEndOffset()).isEqualTo(records);
        } finally {
            pool.shutdownNow();
        }
    }

    private static void checkContiguous(ByteBuffer records, long from, long logEndOffset) {
        List<RecordBatch> batches = TestBatches.parse(records); // checks every CRC
        long expected = -1;
        for (RecordBatch batch : batches) {
            if (expected < 0) {
                assertThat(batch.baseOffset()).isLessThanOrEqualTo(from);
                assertThat(batch.lastOffset()).isGreaterThanOrEqualTo(from);
            } else {
                assertThat(batch.baseOffset()).isEqualTo(expected);
            }
            assertThat(batch.lastOffset()).isLessThan(logEndOffset);
            long offset = batch.baseOffset();
            for (Record record : batch) {
                assertThat(record.offset()).isEqualTo(offset++);
            }
            expected = batch.lastOffset() + 1;
        }
    }
}
