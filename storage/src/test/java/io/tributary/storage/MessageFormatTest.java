package io.tributary.storage;

import static io.tributary.storage.TestBatches.batch;
import static io.tributary.storage.TestBatches.parse;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.CompressionType;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.Record;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.record.SimpleRecord;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The leader's rewrite of appended batches, as Kafka's LogValidator: LogAppendTime, recompression, KIP-937. */
class MessageFormatTest {

    static final long NOW = 1_700_000_000_000L;

    @TempDir
    Path tmp;
    TestBatches.MutableClock clock = new TestBatches.MutableClock(NOW);
    PartitionLog log;

    @BeforeEach
    void open() throws IOException {
        log = PartitionLog.open(tmp.resolve("p-0"), TestBatches.SMALL, clock);
    }

    @AfterEach
    void close() throws IOException {
        log.close();
    }

    @Test
    void logAppendTimeStampsTheBrokersTimeAndKeepsTheRecords() throws IOException {
        // Given a topic with message.timestamp.type=LogAppendTime
        log.updateMessageFormat(MessageFormatConfig.DEFAULTS.withOverrides(
                Map.of("message.timestamp.type", "LogAppendTime")));

        // When a producer's batch with CreateTime 1000.. is appended
        LogAppendResult result = log.append(batch(3, 1000), 0);

        // Then the stored batch says LogAppendTime with the broker's time, its CRC is valid, and every record reads
        // back with the broker's time
        assertThat(result.logAppendTimeMs()).isEqualTo(NOW);
        RecordBatch stored = parse(log.read(0, 1 << 20, Long.MAX_VALUE).records()).get(0);
        stored.ensureValid();
        assertThat(stored.timestampType()).isEqualTo(TimestampType.LOG_APPEND_TIME);
        assertThat(stored.maxTimestamp()).isEqualTo(NOW);
        List<Long> timestamps = new ArrayList<>();
        stored.forEach(r -> timestamps.add(r.timestamp()));
        assertThat(timestamps).containsExactly(NOW, NOW, NOW);
        assertThat(stored.lastOffset()).isEqualTo(2);
    }

    @Test
    void createTimeLeavesTheBatchAsSent() throws IOException {
        ByteBuffer sent = batch(2, 1000);
        byte[] crcBefore = new byte[4];
        sent.duplicate().position(RecordBatchHeader.CRC_OFFSET).get(crcBefore);

        LogAppendResult result = log.append(sent, 0);

        assertThat(result.logAppendTimeMs()).isEqualTo(-1);
        RecordBatch stored = parse(log.read(0, 1 << 20, Long.MAX_VALUE).records()).get(0);
        assertThat(stored.timestampType()).isEqualTo(TimestampType.CREATE_TIME);
        assertThat(stored.maxTimestamp()).isEqualTo(1001);
    }

    @Test
    void anLz4TopicStoresLz4BatchesOfAnUncompressedIdempotentProducer() throws IOException {
        // Given a topic with compression.type=lz4
        log.updateMessageFormat(MessageFormatConfig.DEFAULTS.withOverrides(Map.of("compression.type", "lz4")));

        // When an idempotent producer appends uncompressed batches (with a key and a header)
        SimpleRecord keyed = new SimpleRecord(1234, "k".getBytes(StandardCharsets.UTF_8),
                "v".repeat(200).getBytes(StandardCharsets.UTF_8),
                new org.apache.kafka.common.header.Header[] {
                    new org.apache.kafka.common.header.internals.RecordHeader("h", new byte[] {7})});
        log.append(MemoryRecords.withIdempotentRecords(Compression.NONE, 77, (short) 2, 0, keyed,
                new SimpleRecord(1235, null, "x".getBytes(StandardCharsets.UTF_8))).buffer(), 0);
        log.append(MemoryRecords.withIdempotentRecords(Compression.NONE, 77, (short) 2, 2,
                new SimpleRecord(1236, null, "y".getBytes(StandardCharsets.UTF_8))).buffer(), 0);

        // Then both are stored as lz4 with the producer's fields, offsets and records; the sequence goes on
        List<RecordBatch> stored = parse(log.read(0, 1 << 20, Long.MAX_VALUE).records());
        assertThat(stored).hasSize(2);
        for (RecordBatch b : stored) {
            b.ensureValid();
            assertThat(b.compressionType()).isEqualTo(CompressionType.LZ4);
            assertThat(b.producerId()).isEqualTo(77);
            assertThat(b.producerEpoch()).isEqualTo((short) 2);
        }
        assertThat(stored.get(0).baseSequence()).isZero();
        assertThat(stored.get(0).lastOffset()).isEqualTo(1);
        assertThat(stored.get(1).baseSequence()).isEqualTo(2);
        assertThat(stored.get(1).baseOffset()).isEqualTo(2);
        Record first = stored.get(0).iterator().next();
        assertThat(first.timestamp()).isEqualTo(1234);
        assertThat(StandardCharsets.UTF_8.decode(first.key()).toString()).isEqualTo("k");
        assertThat(first.headers()).hasSize(1);
        assertThat(first.headers()[0].key()).isEqualTo("h");
        // and a retry of the first batch is still recognised as a duplicate
        assertThat(log.append(MemoryRecords.withIdempotentRecords(Compression.NONE, 77, (short) 2, 2,
                new SimpleRecord(1236, null, "y".getBytes(StandardCharsets.UTF_8))).buffer(), 0).duplicate())
                .isTrue();
    }

    @Test
    void aTransactionalGzipBatchIsRecompressedUncompressedAndStaysTransactional() throws IOException {
        log.updateMessageFormat(MessageFormatConfig.DEFAULTS.withOverrides(
                Map.of("compression.type", "uncompressed", "message.timestamp.type", "LogAppendTime")));

        log.append(MemoryRecords.withTransactionalRecords(Compression.gzip().build(), 5, (short) 0, 0,
                TestBatches.records(4, 1000, 10)).buffer(), 0);

        RecordBatch stored = parse(log.read(0, 1 << 20, Long.MAX_VALUE).records()).get(0);
        stored.ensureValid();
        assertThat(stored.compressionType()).isEqualTo(CompressionType.NONE);
        assertThat(stored.isTransactional()).isTrue();
        assertThat(stored.timestampType()).isEqualTo(TimestampType.LOG_APPEND_TIME);
        assertThat(stored.maxTimestamp()).isEqualTo(NOW);
        assertThat(stored.countOrNull()).isEqualTo(4);
        assertThat(log.firstUnstableOffset()).hasValue(0);
    }

    @Test
    void aBatchOfTheTopicsCodecIsKeptAsSent() throws IOException {
        log.updateMessageFormat(MessageFormatConfig.DEFAULTS.withOverrides(Map.of("compression.type", "gzip")));
        ByteBuffer sent = batch(Compression.gzip().build(), 3, 1000, 10);
        int size = sent.remaining();

        log.append(sent, 0);

        RecordBatch stored = parse(log.read(0, 1 << 20, Long.MAX_VALUE).records()).get(0);
        assertThat(stored.compressionType()).isEqualTo(CompressionType.GZIP);
        assertThat(stored.sizeInBytes()).isEqualTo(size);
    }

    @Test
    void createTimesOutsideTheConfiguredBoundsAreRefused() throws IOException {
        // Given KIP-937 bounds of one hour back and one minute ahead
        log.updateMessageFormat(MessageFormatConfig.DEFAULTS.withOverrides(Map.of(
                "message.timestamp.before.max.ms", "3600000", "message.timestamp.after.max.ms", "60000")));

        // Then a record two hours old, or two minutes ahead, is refused with INVALID_TIMESTAMP; one inside is kept
        LogException old = catchThrowableOfType(LogException.class,
                () -> log.append(batch(1, NOW - 7_200_000), 0));
        assertThat(old.error()).isEqualTo(LogError.INVALID_TIMESTAMP);
        assertThat(old.getMessage()).contains("out of range");
        assertThatThrownBy(() -> log.append(batch(1, NOW + 120_000), 0)).isInstanceOf(LogException.class);
        assertThat(log.append(batch(1, NOW - 1000), 0).firstOffset()).isZero();
    }

    @Test
    void invalidValuesAreRefusedNamingTheKey() {
        assertThatThrownBy(() -> MessageFormatConfig.DEFAULTS.withOverrides(Map.of("compression.type", "brotli")))
                .hasMessageContaining("compression.type");
        assertThatThrownBy(() -> MessageFormatConfig.DEFAULTS.withOverrides(
                Map.of("message.timestamp.type", "Now"))).hasMessageContaining("message.timestamp.type");
    }
}
