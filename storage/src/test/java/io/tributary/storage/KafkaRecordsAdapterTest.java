package io.tributary.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tributary.storage.internal.KafkaRecords;

import java.io.File;
import java.nio.ByteBuffer;
import java.nio.file.Path;

import org.apache.kafka.common.record.FileRecords;
import org.apache.kafka.common.record.MemoryRecords;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KafkaRecordsAdapterTest {
    @TempDir
    Path dir;

    @Test
    void wrapAndUnwrapShareTheBytesWithoutCopying() {
        ByteBuffer bytes = TestBatches.batch(3, 0);

        ByteBuffer back = KafkaRecords.unwrap(KafkaRecords.wrap(bytes));

        assertThat(back).isEqualTo(bytes);
        back.position(5);
        assertThat(KafkaRecords.unwrap(KafkaRecords.wrap(bytes)).position()).isZero();
        assertThat(((MemoryRecords) KafkaRecords.wrap(bytes)).records()).hasSize(3);
    }

    @Test
    void batchesTellDataTransactionalAndMarkerBatchesApart() {
        ByteBuffer plain = KafkaRecords.batchOf(java.util.List.of("a".getBytes()), java.util.List.of("1".getBytes()),
                5);
        ByteBuffer idempotent = TestBatches.idempotentBatch(3, (short) 0, 0, 2);
        ByteBuffer txn = KafkaRecords.transactionalBatchOf(java.util.List.of("b".getBytes()),
                java.util.List.of(new byte[0]), 5, 9, (short) 1, KafkaRecords.NO_SEQUENCE);
        ByteBuffer abort = KafkaRecords.endTxnMarker(false, 9, (short) 1, 4, 5);
        ByteBuffer all = TestBatches.concat(plain, idempotent, txn, abort);

        java.util.List<KafkaRecords.Batch> batches = KafkaRecords.batches(all);

        assertThat(batches).extracting(KafkaRecords.Batch::producerId).containsExactly(-1L, 3L, 9L, 9L);
        assertThat(batches).extracting(KafkaRecords.Batch::transactional).containsExactly(false, false, true, true);
        assertThat(batches).extracting(KafkaRecords.Batch::control).containsExactly(false, false, false, true);
        assertThat(batches).extracting(KafkaRecords.Batch::markerType).containsExactly(-1, -1, -1, 0);
        assertThat(batches).extracting(b -> b.records().size()).containsExactly(1, 2, 1, 0);
        assertThat(batches.get(0).records().get(0).key()).isEqualTo("a".getBytes());
        assertThat(batches.get(2).records().get(0).value()).isEmpty();
        assertThat(all.position()).as("not consumed").isZero();
    }

    @Test
    void unwrapRejectsFileRecords() throws Exception {
        File file = dir.resolve("x.log").toFile();
        try (FileRecords records = FileRecords.open(file)) {
            assertThatThrownBy(() -> KafkaRecords.unwrap(records)).isInstanceOf(IllegalArgumentException.class);
        }
    }
}
