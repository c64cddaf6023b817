package io.tributary.storage;

import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.storage.internal.KafkaRecords;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
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
 * {@code delete.retention.ms} after it has none (KIP-534); the aborted-transaction index of cleaned (merged) segments
 * keeps the entries of transactions with data left, across restarts and crashes mid-swap; open transactions are not
 * cleaned.
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
    void anAbortMarkerWhoseIndexEntryIsLostStaysWhileItsTransactionsBatchesDo() throws Exception {
        // Given an aborted transaction whose .txnindex entry is lost (a torn index, or a log cleaned before the
        // cleaner carried indexes): its batches look committed to the cleaner
        log = open("t-lost");
        plain("k", "A");
        txn(7, 0, "k", "B", "k2", "B2");
        long abort = marker(7, false);
        closeSegmentsAndReplicate();
        log.close();
        Files.delete(dir.resolve("t-lost").resolve(String.format("%020d.txnindex", 0)));
        log = open("t-lost");
        log.onHighWatermark(log.logEndOffset());

        // When cleaned, and cleaned again past every delete horizon
        clean();
        clock.advance(2 * HOUR);
        log.updateCompaction(CompactionConfig.DEFAULTS.withOverrides(Map.of("cleanup.policy", "compact")));
        maybeClean();

        // Then the marker stays with its transaction's batches, so a restart that replays every header does not
        // reopen the transaction and hold the last stable offset for good
        assertThat(controlBatches()).extracting(Map.Entry::getKey).contains(abort);
        log.close();
        TestBatches.deleteSnapshots(dir.resolve("t-lost"));
        log = open("t-lost");
        assertThat(log.firstUnstableOffset()).isEmpty();
    }

    @Test
    void anAbortedTransactionWithDataLeftKeepsItsIndexEntryInTheMergedSegmentAcrossRestarts() throws Exception {
        // Given producer 9's aborted batch is its last (its header stays for its sequence), in the third of four
        // closed segments, and producer 8's aborted transaction in the second
        log = open("t-0");
        plain("k", "v0");
        rollOnNextAppend();
        txn(8, 0, "k", "aborted");
        marker(8, false);
        txn(8, 1, "k8", "y");
        marker(8, true);
        rollOnNextAppend();
        plain("k", "v1");
        long first9 = txn(9, 0, "k9", "q");
        long abort9 = marker(9, false);
        rollOnNextAppend();
        plain("k", "v2");
        closeSegmentsAndReplicate();
        assertThat(log.numberOfSegments()).isEqualTo(5);
        AbortedTxn entry9 = new AbortedTxn(9, first9, abort9, abort9 + 1);
        assertThat(log.abortedTransactions(0, Long.MAX_VALUE)).hasSize(2).contains(entry9);

        // When the clean merges the closed segments into one
        clean();
        assertThat(log.numberOfSegments()).isEqualTo(2);

        // Then the merged segment's index holds producer 9's entry (not 8's: its data is gone), and so after
        // restarts, with and without producer snapshots
        Path t0 = dir.resolve("t-0");
        assertThat(log.abortedTransactions(0, Long.MAX_VALUE)).containsExactly(entry9);
        assertThat(log.abortedTransactions(first9, abort9)).containsExactly(entry9);
        assertThat(log.abortedTransactions(abort9 + 1, Long.MAX_VALUE)).isEmpty();
        assertThat(txnIndexFiles(t0)).containsExactly(LogSegment.fileName(0, TransactionIndex.SUFFIX));
        assertThat(readCommitted()).containsEntry("k", "v2").containsEntry("k8", "y").doesNotContainKey("k9");
        ProducerStateManager.ProducerEntry before9 = log.producerState().entry(9).orElseThrow();
        log.close();
        log = open("t-0");
        assertThat(log.abortedTransactions(0, Long.MAX_VALUE)).containsExactly(entry9);
        log.close();
        TestBatches.deleteSnapshots(t0);
        log = open("t-0");
        assertThat(log.abortedTransactions(0, Long.MAX_VALUE)).containsExactly(entry9);
        assertThat(log.firstUnstableOffset()).as("the marker stayed with the batch header").isEmpty();
        ProducerStateManager.ProducerEntry after9 = log.producerState().entry(9).orElseThrow();
        assertThat(after9.producerEpoch()).isEqualTo(before9.producerEpoch());
        assertThat(after9.lastSequence()).isEqualTo(before9.lastSequence()).isZero();
        assertThat(after9.coordinatorEpoch()).isEqualTo(before9.coordinatorEpoch());
    }

    /**
     * A clean merging segments with transaction index entries, its directory copied at every step of the swap as a
     * crash there would leave it (and once with only some old segments deleted): each copy opens with the old set
     * (crash before the swap is committed) or the new one, its transaction index with it, and nothing left over.
     */
    @Test
    void aCrashAtAnyStepOfTheSwapLeavesTheOldOrTheNewSegmentsWithTheirTransactionIndex() throws Exception {
        Path t0 = dir.resolve("t-0");
        log = open("t-0");
        plain("k", "A");
        txn(8, 0, "k", "aborted");
        rollOnNextAppend();
        marker(8, false); // entry in the second segment's index; its data goes in the clean
        txn(8, 1, "k8", "y");
        marker(8, true);
        rollOnNextAppend();
        txn(9, 0, "k9", "q");
        marker(9, false); // entry in the third segment's index; stays (producer 9's last batch)
        closeSegmentsAndReplicate();
        LogState old = state();
        assertThat(old.aborted()).hasSize(2);

        List<String> steps = new ArrayList<>();
        log.swapSteps = step -> {
            steps.add(step);
            TestBatches.copyDir(t0, dir.resolve("crash-" + step));
        };
        clean();
        log.swapSteps = step -> { };
        LogState cleaned = state();
        assertThat(steps).as("one merged group").containsExactly("txnindex-swap", "log-swap", "old-segments-deleted",
                "indexes-moved", "done");
        assertThat(cleaned.aborted()).hasSize(1);
        assertThat(cleaned).isNotEqualTo(old);

        // Some old segments deleted, not all (the file system may keep deletions in any order)
        Path partial = TestBatches.copyDir(dir.resolve("crash-log-swap"), dir.resolve("crash-partial-delete"));
        long secondBase = old.segments().get(1);
        Files.delete(TestBatches.logFile(partial, secondBase));
        Files.delete(partial.resolve(LogSegment.fileName(secondBase, TransactionIndex.SUFFIX)));

        Map<String, LogState> expected = new LinkedHashMap<>();
        expected.put("txnindex-swap", old);
        expected.put("log-swap", cleaned);
        expected.put("partial-delete", cleaned);
        expected.put("old-segments-deleted", cleaned);
        expected.put("indexes-moved", cleaned);
        expected.put("done", cleaned);
        log.close();
        log = null;
        for (var e : expected.entrySet()) {
            Path crashed = dir.resolve("crash-" + e.getKey());
            try (PartitionLog reopened = PartitionLog.open(crashed, CONFIG, clock)) {
                assertThat(state(reopened)).as("crash at %s", e.getKey()).isEqualTo(e.getValue());
            }
            try (Stream<Path> files = Files.list(crashed)) {
                assertThat(files.map(f -> f.getFileName().toString()))
                        .as("crash at %s", e.getKey()).noneMatch(name -> name.endsWith(PartitionLog.SWAP_SUFFIX));
            }
            for (String index : txnIndexFiles(crashed)) {
                String base = index.substring(0, index.length() - TransactionIndex.SUFFIX.length());
                assertThat(crashed.resolve(base + LogSegment.LOG_SUFFIX)).as("crash at %s", e.getKey()).exists();
            }
            // and a restart that replays every header (rebuilding the transaction indexes) agrees
            TestBatches.deleteSnapshots(crashed);
            try (PartitionLog replayed = PartitionLog.open(crashed, CONFIG, clock)) {
                assertThat(state(replayed)).as("crash at %s, replayed", e.getKey()).isEqualTo(e.getValue());
            }
        }
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
        assertThat(log.abortedTransactions(0, Long.MAX_VALUE)).extracting(AbortedTxn::firstOffset)
                .containsExactly(open);
        assertThat(readCommitted()).containsEntry("k", "A");
    }

    // ---------------------------------------------------------------- helpers

    /** What a reader can tell of a log: segments, records, markers (with their horizon set or not), aborted txns. */
    private record LogState(List<Long> segments, List<KafkaRecords.KeyValue> records,
            List<Map.Entry<Long, Boolean>> controls, List<AbortedTxn> aborted) {
        @Override
        public boolean equals(Object o) {
            return o instanceof LogState other && segments.equals(other.segments) && controls.equals(other.controls)
                    && aborted.equals(other.aborted) && asText(records).equals(asText(other.records));
        }

        @Override
        public int hashCode() {
            return segments.hashCode();
        }

        private static List<String> asText(List<KafkaRecords.KeyValue> records) {
            return records.stream().map(kv -> kv.offset() + ":" + string(kv.key()) + "=" + string(kv.value())).toList();
        }
    }

    private LogState state() throws IOException {
        return state(log);
    }

    private static LogState state(PartitionLog l) throws IOException {
        var all = l.read(l.logStartOffset(), Integer.MAX_VALUE, Long.MAX_VALUE).records();
        return new LogState(l.segmentBaseOffsets(), KafkaRecords.records(all), controlBatches(all),
                l.abortedTransactions(0, Long.MAX_VALUE));
    }

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

    private static List<String> txnIndexFiles(Path partition) throws IOException {
        try (Stream<Path> files = Files.list(partition)) {
            return files.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(TransactionIndex.SUFFIX))
                    .sorted().toList();
        }
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
