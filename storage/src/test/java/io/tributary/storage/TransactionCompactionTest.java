package io.tributary.storage;

import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.storage.internal.KafkaRecords;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.Record;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.record.SimpleRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Compaction of a log with transactions (KIP-98, Kafka's LogCleaner): aborted records never enter the key map and
 * go; committed transactional records compact like any; markers stay while their transaction has data and go
 * {@code delete.retention.ms} after it has none (KIP-534); open transactions are not cleaned.
 */
class TransactionCompactionTest {
    private static final long HOUR = 3_600_000;
    /** Segments roll by time here ({@link #rollOnNextAppend}); a clean merges all of them. */
    private static final LogConfig CONFIG = new LogConfig(16 * 1024, HOUR, -1, -1, 1_048_588, 256, 4096);
    private static final int LEADER_EPOCH = 0;

    @TempDir
    Path dir;
    private final TestBatches.MutableClock clock = new TestBatches.MutableClock(1_000_000);
    private PartitionLog log;

    @AfterEach
    void close() throws IOException {
        if (log != null) {
            log.close();
        }
    }

    @Test
    void anAbortedRecordNeverSupersedesTheCommittedValueOfItsKeyAndGoesWithTheClean() throws Exception {
        // Given k committed as A (in a transaction, and plainly as k2), then k and k2 written by an aborted transaction
        log = open("t-0");
        txn(7, 0, "k", "A");
        marker(7, true);
        plain("k2", "A2");
        txn(8, 0, "k", "B", "k2", "B2");
        marker(8, false);
        txn(8, 2, "other", "x"); // not producer 8's last batch: nothing of the aborted one needs to stay
        marker(8, true);
        closeSegmentsAndReplicate();
        assertThat(readCommitted()).containsEntry("k", "A").containsEntry("k2", "A2");
        assertThat(readUncommittedValues()).contains("B", "B2");

        // When the log is cleaned
        clean();

        // Then read_committed still sees A (the aborted B never entered the key map, so A stayed the latest), and B is
        // gone for read_uncommitted readers too, as is the aborted transaction's index entry (no data left)
        assertThat(readCommitted()).containsEntry("k", "A").containsEntry("k2", "A2");
        assertThat(readUncommittedValues()).contains("A", "A2").doesNotContain("B", "B2");
        assertThat(log.abortedTransactions(0, Long.MAX_VALUE)).isEmpty();
        log.close();
        log = open("t-0");
        assertThat(readCommitted()).containsEntry("k", "A").containsEntry("k2", "A2");
        assertThat(readUncommittedValues()).doesNotContain("B", "B2");
    }

    @Test
    void committedTransactionalRecordsAreCompactedLikeAnyOther() throws Exception {
        log = open("t-0");
        List<Long> superseded = new ArrayList<>();
        superseded.add(txn(7, 0, "k1", "a1", "k2", "a2"));
        superseded.add(superseded.get(0) + 1);
        marker(7, true);
        superseded.add(plain("k1", "b1"));
        txn(7, 2, "k2", "c2");
        marker(7, true);
        long latestK1 = txn(9, 0, "k1", "d1");
        marker(9, true);
        closeSegmentsAndReplicate();

        clean();

        assertThat(readUncommitted()).extracting(KafkaRecords.KeyValue::offset).doesNotContainAnyElementsOf(superseded);
        Map<String, List<String>> byKey = new HashMap<>();
        for (KafkaRecords.KeyValue kv : readUncommitted()) {
            byKey.computeIfAbsent(string(kv.key()), k -> new ArrayList<>()).add(string(kv.value()));
        }
        assertThat(byKey).containsEntry("k1", List.of("d1")).containsEntry("k2", List.of("c2"));
        assertThat(readUncommitted()).anySatisfy(kv -> assertThat(kv.offset()).isEqualTo(latestK1));
        assertThat(readCommitted()).containsEntry("k1", "d1").containsEntry("k2", "c2");
    }

    @Test
    void aMarkerStaysWhileItsTransactionHasDataAndGoesDeleteRetentionAfterItsLastBatch() throws Exception {
        // Given four transactions, and a fifth aborted by a marker that bumped its producer's epoch
        log = open("t-0");
        txn(7, 0, "k1", "a");
        long commit1 = marker(7, true); // its only record is superseded below: no data left after a clean
        plain("k1", "b");
        txn(7, 1, "k2", "x");
        long commit2 = marker(7, true); // its record is the latest of k2: data left
        txn(8, 0, "k3", "z");
        long abort3 = marker(8, false); // aborted data goes: no data left
        txn(8, 1, "k4", "w");
        long commit4 = marker(8, true);
        txn(10, 0, "k5", "r");
        long abort5 = log.appendTransactionMarker(10, (short) 1, 0, false, LEADER_EPOCH).firstOffset();
        closeSegmentsAndReplicate();
        assertThat(log.abortedTransactions(0, Long.MAX_VALUE)).extracting(AbortedTxn::lastOffset)
                .containsExactly(abort3, abort5);

        // When cleaned: a marker without data left gets its delete horizon (an hour), one with data keeps none
        clean();
        assertThat(controlBatches()).containsExactly(
                Map.entry(commit1, true), Map.entry(commit2, false), Map.entry(abort3, true),
                Map.entry(commit4, false), Map.entry(abort5, false));
        assertThat(log.abortedTransactions(0, Long.MAX_VALUE)).as("no aborted data left").isEmpty();

        // Then nothing goes before the horizon, and one pass (nothing else dirty) removes those markers after it;
        // the marker that holds producer 10's epoch stays
        log.updateCompaction(CompactionConfig.DEFAULTS.withOverrides(Map.of("cleanup.policy", "compact")));
        clock.advance(HOUR - 1);
        assertThat(maybeClean().segmentsCleaned()).isZero();
        clock.advance(2);
        assertThat(maybeClean().segmentsCleaned()).isPositive();
        assertThat(controlBatches()).containsExactly(Map.entry(commit2, false), Map.entry(commit4, false),
                Map.entry(abort5, false));
        assertThat(maybeClean().segmentsCleaned()).as("nothing left to expire").isZero();
        assertThat(readCommitted()).containsEntry("k1", "b").containsEntry("k2", "x").containsEntry("k4", "w")
                .doesNotContainKeys("k3", "k5");

        // And a restart that replays every header still knows producer 10's epoch and has no open transaction
        log.close();
        TestBatches.deleteSnapshots(dir.resolve("t-0"));
        log = open("t-0");
        assertThat(log.producerState().entry(10)).hasValueSatisfying(e -> assertThat(e.producerEpoch()).isEqualTo(
                (short) 1));
        assertThat(log.firstUnstableOffset()).isEmpty();
        assertThat(log.abortedTransactions(0, Long.MAX_VALUE)).isEmpty();
    }

    @Test
    void anOpenTransactionIsNeverCleanedNorLetIntoTheKeyMapUntilItsMarkerIsReplicated() throws Exception {
        // Given k committed as A, then an open transaction writing k in a later closed segment
        log = open("t-0");
        long committed = plain("k", "A");
        rollOnNextAppend();
        long open = txn(7, 0, "k", "B");
        rollOnNextAppend();
        plain("other", "x");
        rollOnNextAppend();
        plain("tail", "t");
        log.onHighWatermark(log.logEndOffset());

        // When cleaned up to the log end: the log stops at the first unstable offset by itself
        clean();
        assertThat(offsets()).as("B was not mapped, so A stays; B is not touched").contains(committed, open);

        // An abort whose marker is not replicated still holds the clean back
        long abort = marker(7, false);
        rollOnNextAppend();
        plain("tail", "t2");
        clean();
        assertThat(offsets()).contains(committed, open);

        // Once replicated, the aborted record goes and A stays
        log.onHighWatermark(log.logEndOffset());
        clean();
        assertThat(offsets()).contains(committed).doesNotContain(open);
        // the aborted batch's header stays (producer 7's last sequence), so its marker stays with no horizon
        assertThat(controlBatches()).containsExactly(Map.entry(abort, false));
        assertThat(readCommitted()).containsEntry("k", "A");
    }

    // ---------------------------------------------------------------- helpers

    private PartitionLog open(String name) throws IOException {
        return PartitionLog.open(dir.resolve(name), CONFIG, clock);
    }

    /** The next append rolls a new segment ({@code segment.ms} passed). */
    private void rollOnNextAppend() {
        clock.advance(HOUR + 1);
    }

    /** Closes the segment written so far (a new one starts with a record) and moves the high watermark to the end. */
    private void closeSegmentsAndReplicate() throws IOException {
        rollOnNextAppend();
        plain("tail", "t");
        log.onHighWatermark(log.logEndOffset());
    }

    private PartitionLog.CleanResult clean() throws IOException, InterruptedException {
        return log.clean(log.logEndOffset(), clock.millis(), HOUR, 1 << 20, CleanerThrottle.UNLIMITED);
    }

    private PartitionLog.CleanResult maybeClean() throws IOException, InterruptedException {
        return log.maybeClean(log.logEndOffset(), clock.millis(), 1 << 20, CleanerThrottle.UNLIMITED);
    }

    private long plain(String key, String value) throws IOException {
        return log.append(MemoryRecords.withRecords(Compression.NONE,
                new SimpleRecord(clock.millis(), bytes(key), bytes(value))).buffer(), LEADER_EPOCH).firstOffset();
    }

    /** One transactional batch of {@code producerId} (epoch 0) with the key/value pairs; its first offset. */
    private long txn(long producerId, int baseSequence, String... keyValues) throws IOException {
        SimpleRecord[] records = new SimpleRecord[keyValues.length / 2];
        for (int i = 0; i < records.length; i++) {
            records[i] = new SimpleRecord(clock.millis(), bytes(keyValues[2 * i]), bytes(keyValues[2 * i + 1]));
        }
        return log.append(MemoryRecords.withTransactionalRecords(Compression.NONE, producerId, (short) 0,
                baseSequence, records).buffer(), LEADER_EPOCH).firstOffset();
    }

    private long marker(long producerId, boolean commit) throws IOException {
        return log.appendTransactionMarker(producerId, (short) 0, 0, commit, LEADER_EPOCH).firstOffset();
    }

    /**
     * What a read_committed consumer reading the whole log sees, key -> latest value: the data below the last
     * stable offset, without the batches of the aborted transactions the log lists for that range.
     */
    private Map<String, String> readCommitted() throws IOException {
        long lso = log.firstUnstableOffset(log.logEndOffset()).orElse(log.logEndOffset());
        List<AbortedTxn> aborted = log.abortedTransactions(log.logStartOffset(), lso);
        Map<String, String> seen = new HashMap<>();
        for (RecordBatch batch : TestBatches.parse(log.read(log.logStartOffset(), Integer.MAX_VALUE, lso).records())) {
            boolean skipped = batch.isControlBatch() || (batch.isTransactional() && aborted.stream().anyMatch(t ->
                    t.producerId() == batch.producerId() && t.firstOffset() <= batch.baseOffset()
                            && batch.baseOffset() <= t.lastOffset()));
            if (!skipped) {
                for (Record record : batch) {
                    seen.put(string(bytesOf(record.key())), record.hasValue() ? string(bytesOf(record.value())) : null);
                }
            }
        }
        return seen;
    }

    private List<KafkaRecords.KeyValue> readUncommitted() throws IOException {
        return KafkaRecords.records(log.read(log.logStartOffset(), Integer.MAX_VALUE, Long.MAX_VALUE).records());
    }

    private List<String> readUncommittedValues() throws IOException {
        return readUncommitted().stream().map(kv -> string(kv.value())).toList();
    }

    private List<Long> offsets() throws IOException {
        return readUncommitted().stream().map(KafkaRecords.KeyValue::offset).toList();
    }

    /** Every control batch's offset, with whether a clean set its delete horizon. */
    private List<Map.Entry<Long, Boolean>> controlBatches() throws IOException {
        return controlBatches(log.read(log.logStartOffset(), Integer.MAX_VALUE, Long.MAX_VALUE).records());
    }

    private static List<Map.Entry<Long, Boolean>> controlBatches(java.nio.ByteBuffer stored) {
        return TestBatches.parse(stored).stream().filter(RecordBatch::isControlBatch)
                .map(b -> Map.entry(b.baseOffset(), b.deleteHorizonMs().isPresent())).toList();
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] bytesOf(java.nio.ByteBuffer buffer) {
        byte[] out = new byte[buffer.remaining()];
        buffer.duplicate().get(out);
        return out;
    }

    private static String string(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
    }
}
