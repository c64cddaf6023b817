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
    void unwrapRejectsFileRecords() throws Exception {
        File file = dir.resolve("x.log").toFile();
        try (FileRecords records = FileRecords.open(file)) {
            assertThatThrownBy(() -> KafkaRecords.unwrap(records)).isInstanceOf(IllegalArgumentException.class);
        }
    }
}
