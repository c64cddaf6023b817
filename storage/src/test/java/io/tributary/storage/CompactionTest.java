package io.tributary.storage;

import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.storage.internal.KafkaRecords;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.record.SimpleRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Log compaction (Kafka's LogCleaner semantics): the latest record per key stays, offsets never change, the active
 * segment is not touched, tombstones go after their delete horizon, a producer's last batch header stays, and a
 * crash mid-swap leaves a consistent log.
 */
class CompactionTest {

    private static final long HOUR = 3_600_000;
    private static final LogConfig SMALL_SEGMENTS = new LogConfig(1024, HOUR, -1, -1, 1_048_588, 256, 4096);

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
    void onlyEachKeysLatestRecordStaysAtItsOriginalOffsetAndTheActiveSegmentIsUntouched() throws Exception {
        log = PartitionLog.open(dir.resolve("t-0"), SMALL_SEGMENTS, clock);
        Map<String, Long> latest = new HashMap<>();
        for (int i = 0; i < 200; i++) {
            String key = "k" + (i % 5);
            long offset = append(key, "v" + i);
            latest.put(key, offset);
        }
        long end = log.logEndOffset();
        long activeBase = activeBase();
        List<KafkaRecords.KeyValue> before = readAll();
        assertThat(log.numberOfSegments()).isGreaterThan(5);

        PartitionLog.CleanResult result = clean(end, 1 << 20);

        assertThat(result.segmentsCleaned()).isEqualTo(log.numberOfSegments() - 1);
        assertThat(result.bytesAfter()).isLessThan(result.bytesBefore());
        List<KafkaRecords.KeyValue> after = readAll();
        for (KafkaRecords.KeyValue kv : after) {
            // every record is still at the offset it was written at (its value names it)
            assertThat(value(kv)).isEqualTo("v" + kv.offset());
            if (kv.offset() < activeBase) {
                assertThat(kv.offset()).as("a cleaned record is its key's latest below the active segment")
                        .isEqualTo(latestBelow(before, key(kv), activeBase));
            }
        }
        // the active segment is as written
        assertThat(after.stream().filter(kv -> kv.offset() >= activeBase).toList())
                .usingRecursiveComparison()
                .isEqualTo(before.stream().filter(kv -> kv.offset() >= activeBase).toList());
        // a reader from the beginning sees every key's latest value
        Map<String, Long> seen = new HashMap<>();
        after.forEach(kv -> seen.put(key(kv), kv.offset()));
        assertThat(seen).isEqualTo(latest);
        assertThat(log.logEndOffset()).isEqualTo(end);

        // and so does the log after a restart
        log.close();
        log = PartitionLog.open(dir.resolve("t-0"), SMALL_SEGMENTS, clock);
        assertThat(readAll()).usingRecursiveComparison().isEqualTo(after);
    }

    @Test
    void aTombstoneStaysUntilDeleteRetentionAfterItsFirstCompactionThenGoes() throws Exception {
        log = PartitionLog.open(dir.resolve("t-0"), SMALL_SEGMENTS, clock);
        append("gone", "v0");
        long tombstone = appendTombstone("gone");
        fillSegments("other", 20);

        clean(log.logEndOffset(), 1 << 20);
        assertThat(readAll()).extracting(KafkaRecords.KeyValue::offset).contains(tombstone)
                .doesNotContain(tombstone - 1);

        // Nothing new is written: before the horizon no clean is due, after it one pass drops the tombstone.
        log.updateCompaction(CompactionConfig.DEFAULTS.withOverrides(Map.of("cleanup.policy", "compact")));
        clock.advance(HOUR - 1);
        assertThat(maybeClean(log.logEndOffset()).segmentsCleaned()).isZero();
        clock.advance(2);
        assertThat(maybeClean(log.logEndOffset()).segmentsCleaned()).isPositive();
        assertThat(readAll().stream().map(CompactionTest::key)).doesNotContain("gone");
        assertThat(maybeClean(log.logEndOffset()).segmentsCleaned())
                .as("no tombstone left to expire").isZero();
    }

    @Test
    void theBatchHoldingAProducersLastSequenceKeepsItsHeader() throws Exception {
        log = PartitionLog.open(dir.resolve("t-0"), SMALL_SEGMENTS, clock);
        long pid = 7;
        // the producer writes k once, then plain writes overwrite k
        ByteBuffer idempotent = MemoryRecords.withIdempotentRecords(Compression.NONE, pid, (short) 0, 0,
                new SimpleRecord(clock.millis(), bytes("k"), bytes("v0"))).buffer();
        long producerBatch = log.append(idempotent, 0).lastOffset();
        append("k", "newer");
        fillSegments("other", 20);

        clean(log.logEndOffset(), 1 << 20);

        assertThat(readAll().stream().filter(kv -> kv.offset() == producerBatch)).isEmpty();
        List<RecordBatch> batches = TestBatches.parse(log.read(0, Integer.MAX_VALUE, Long.MAX_VALUE).records());
        assertThat(batches).anySatisfy(b -> {
            assertThat(b.producerId()).isEqualTo(pid);
            assertThat(b.lastOffset()).isEqualTo(producerBatch);
            assertThat(b.lastSequence()).isZero();
        });
        // after a restart that replays the headers, the producer's next sequence is still 1: a retry of sequence 0 is
        // a duplicate, not a gap
        log.close();
        TestBatches.deleteSnapshots(dir.resolve("t-0"));
        log = PartitionLog.open(dir.resolve("t-0"), SMALL_SEGMENTS, clock);
        assertThat(log.producerState().entry(pid)).hasValueSatisfying(e -> assertThat(e.lastSequence()).isZero());
    }

    @Test
    void aSwapLeftByACrashIsCompletedAndACleanedCopyNotSwappedInIsDropped() throws Exception {
        Path original = dir.resolve("t-0");
        log = PartitionLog.open(original, SMALL_SEGMENTS, clock);
        for (int i = 0; i < 100; i++) {
            append("k" + (i % 3), "v" + i);
        }
        log.close();
        // The same log, compacted in another directory: its first segment is what a clean would swap in.
        Path compacted = TestBatches.copyDir(original, dir.resolve("copy"));
        log = PartitionLog.open(compacted, SMALL_SEGMENTS, clock);
        clean(log.logEndOffset(), 1 << 20);
        List<KafkaRecords.KeyValue> cleanedFirstSegment = readAll().stream().filter(kv -> kv.offset() < 5).toList();
        log.close();

        // A crash after the swap file was written (old segment and indexes still there), and a half-written copy.
        Path segment0 = TestBatches.logFile(original, 0);
        Files.copy(TestBatches.logFile(compacted, 0), original.resolve(segment0.getFileName() + ".swap"));
        Files.createDirectories(original.resolve(PartitionLog.CLEANER_DIR));
        Files.write(original.resolve(PartitionLog.CLEANER_DIR).resolve(segment0.getFileName()), new byte[100]);

        log = PartitionLog.open(original, SMALL_SEGMENTS, clock);
        assertThat(original.resolve(PartitionLog.CLEANER_DIR)).doesNotExist();
        assertThat(original.resolve(segment0.getFileName() + ".swap")).doesNotExist();
        List<KafkaRecords.KeyValue> all = readAll();
        assertThat(all.stream().filter(kv -> kv.offset() < 5).toList()).usingRecursiveComparison()
                .isEqualTo(cleanedFirstSegment);
        assertThat(all).allSatisfy(kv -> assertThat(value(kv)).isEqualTo("v" + kv.offset()));
        assertThat(log.logEndOffset()).isEqualTo(100);
    }

    @Test
    void smallSegmentsLeftByACleanMergeOnTheNextOneAndEveryRecordKeepsItsOffset() throws Exception {
        log = PartitionLog.open(dir.resolve("t-0"), SMALL_SEGMENTS, clock);
        for (int i = 0; i < 300; i++) {
            append("k" + (i % 5), "v" + i);
        }
        clean(log.logEndOffset(), 1 << 20);
        int afterFirst = log.numberOfSegments();
        assertThat(afterFirst).as("full segments: nothing to merge yet").isGreaterThan(10);

        for (int i = 300; i < 320; i++) {
            append("k" + (i % 5), "v" + i);
        }
        long end = log.logEndOffset();
        clean(end, 1 << 20);

        assertThat(log.numberOfSegments()).as("the small cleaned segments merged").isLessThan(afterFirst / 3);
        List<KafkaRecords.KeyValue> all = readAll();
        assertThat(all).allSatisfy(kv -> assertThat(value(kv)).isEqualTo("v" + kv.offset()));
        Map<String, Long> latest = new HashMap<>();
        all.forEach(kv -> latest.merge(key(kv), kv.offset(), Math::max));
        for (int k = 0; k < 5; k++) {
            int key = k;
            long lastWritten = java.util.stream.LongStream.range(0, end).filter(o -> o % 5 == key).max().orElseThrow();
            assertThat(latest.get("k" + k)).isEqualTo(lastWritten);
        }
        List<Long> bases = log.segmentBaseOffsets();
        for (long base : bases.subList(0, bases.size() - 1)) {
            assertThat(Files.size(TestBatches.logFile(dir.resolve("t-0"), base))).isLessThanOrEqualTo(1024);
        }
        // and a restart reads the merged segments back the same
        log.close();
        log = PartitionLog.open(dir.resolve("t-0"), SMALL_SEGMENTS, clock);
        assertThat(readAll()).usingRecursiveComparison().isEqualTo(all);
    }

    @Test
    void aMergedSwapLeftByACrashReplacesEverySegmentOfItsGroupWhateverDeletionsReachedTheDisk() throws Exception {
        Path original = dir.resolve("t-0");
        log = PartitionLog.open(original, SMALL_SEGMENTS, clock);
        for (int i = 0; i < 300; i++) {
            append("k" + (i % 5), "v" + i);
        }
        log.close();
        // The same log cleaned twice elsewhere: its first segment is a merge of several of the original's
        Path compacted = TestBatches.copyDir(original, dir.resolve("copy"));
        log = PartitionLog.open(compacted, SMALL_SEGMENTS, clock);
        clean(log.logEndOffset(), 1 << 20);
        for (int i = 300; i < 320; i++) {
            append("k" + (i % 5), "v" + i);
        }
        clean(log.logEndOffset(), 1 << 20);
        long groupEnd = log.segmentBaseOffsets().get(1);
        List<KafkaRecords.KeyValue> merged = readAll().stream().filter(kv -> kv.offset() < groupEnd).toList();
        log.close();
        log = PartitionLog.open(original, SMALL_SEGMENTS, clock);
        List<KafkaRecords.KeyValue> originalAfterGroup =
                readAll().stream().filter(kv -> kv.offset() >= groupEnd).toList();
        List<Long> originalBases = log.segmentBaseOffsets();
        log.close();
        List<Long> inGroup = originalBases.stream().filter(b -> b < groupEnd).toList();
        assertThat(inGroup).hasSizeGreaterThan(3);

        // A crash after the swap was written and some old segments deleted: the second and the last of the group,
        // not the others (the file system may keep deletions in any order)
        Files.copy(TestBatches.logFile(compacted, 0), original.resolve(PartitionLog.swapFileName(0, groupEnd)));
        for (long gone : List.of(inGroup.get(1), inGroup.get(inGroup.size() - 1))) {
            Files.delete(TestBatches.logFile(original, gone));
        }

        log = PartitionLog.open(original, SMALL_SEGMENTS, clock);
        assertThat(original.resolve(PartitionLog.swapFileName(0, groupEnd))).doesNotExist();
        assertThat(log.segmentBaseOffsets()).doesNotContainAnyElementsOf(inGroup.subList(1, inGroup.size()))
                .contains(0L);
        List<KafkaRecords.KeyValue> expected = new java.util.ArrayList<>(merged);
        expected.addAll(originalAfterGroup);
        assertThat(readAll()).usingRecursiveComparison().isEqualTo(expected);
        assertThat(log.logEndOffset()).isEqualTo(300);
    }

    @Test
    void aCleanReportsEveryChunkItReadsAndWritesToItsThrottleOutsideTheAppendLock() throws Exception {
        // Given a log of closed segments, all dirty, and a throttle that records what it is told
        log = PartitionLog.open(dir.resolve("t-0"), SMALL_SEGMENTS, clock);
        fillSegments("k", 60);
        long closedBytes = closedSegmentBytes();
        List<Long> acquired = new java.util.ArrayList<>();
        java.util.concurrent.ExecutorService appender = java.util.concurrent.Executors.newSingleThreadExecutor();
        try {
            // When it compacts, the throttle appending from another thread on its first call
            PartitionLog.CleanResult result = log.clean(log.logEndOffset(), clock.millis(), HOUR, 1 << 20, bytes -> {
                if (acquired.isEmpty()) {
                    try {
                        appender.submit(() -> append("during", "the clean")).get(10, TimeUnit.SECONDS);
                    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                        throw new AssertionError("an append waited on the clean's throttle", e);
                    }
                }
                acquired.add(bytes);
            });

            // Then it reported each dirty segment read to map its keys, read again to copy it, and its copy written
            assertThat(result.bytesBefore()).isEqualTo(closedBytes);
            assertThat(acquired).allSatisfy(bytes -> assertThat(bytes).isPositive());
            assertThat(acquired.stream().mapToLong(Long::longValue).sum())
                    .isEqualTo(2 * result.bytesBefore() + result.bytesAfter());
            assertThat(acquired).hasSizeGreaterThanOrEqualTo(2 * result.segmentsCleaned());
        } finally {
            appender.shutdownNow();
        }
    }

    @Test
    void anInterruptedThrottleStopsTheCleanWithNoCopyLeftAndTheNextCleanRedoesIt() throws Exception {
        // Given a log of closed segments with updates to few keys
        log = PartitionLog.open(dir.resolve("t-0"), SMALL_SEGMENTS, clock);
        Map<String, Long> latest = new HashMap<>();
        for (int i = 0; i < 200; i++) {
            latest.put("k" + (i % 5), append("k" + (i % 5), "v" + i));
        }
        int closed = log.numberOfSegments() - 1;
        // When the throttle is interrupted while the second segment's copy is being written (one map read per
        // closed segment, then a read and a write per rewritten segment)
        int[] calls = {0};
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> log.clean(log.logEndOffset(), clock.millis(), HOUR,
                1 << 20, bytes -> {
                    if (++calls[0] == closed + 4) {
                        throw new InterruptedException("stop");
                    }
                })).isInstanceOf(InterruptedException.class);

        // Then no cleaned copy is left, every key's latest record is still there at its offset
        assertThat(dir.resolve("t-0").resolve(PartitionLog.CLEANER_DIR)).doesNotExist();
        Map<String, Long> seen = new HashMap<>();
        for (KafkaRecords.KeyValue kv : readAll()) {
            assertThat(value(kv)).isEqualTo("v" + kv.offset());
            seen.put(key(kv), kv.offset());
        }
        assertThat(seen).isEqualTo(latest);
        // and the first dirty offset did not move: the next clean maps and rewrites every closed segment again
        PartitionLog.CleanResult next = clean(log.logEndOffset(), 1 << 20);
        assertThat(next.segmentsCleaned()).isEqualTo(closed);
        assertThat(readAll().stream().filter(kv -> kv.offset() < activeBase()).map(CompactionTest::key))
                .doesNotHaveDuplicates();
    }

    @Test
    void aMapTooSmallForTheDirtyKeysCleansUpToASegmentBoundaryAndTheRestLater() throws Exception {
        log = PartitionLog.open(dir.resolve("t-0"), SMALL_SEGMENTS, clock);
        for (int i = 0; i < 300; i++) {
            append("k" + i, "v" + i); // every key distinct
        }
        long end = log.logEndOffset();
        // room for about 20 keys: a few segments per pass
        PartitionLog.CleanResult first = clean(end, 24 * 23);
        assertThat(first.firstDirtyOffset()).isPositive().isLessThan(activeBase());
        PartitionLog.CleanResult second = clean(end, 24 * 23);
        assertThat(second.firstDirtyOffset()).isGreaterThan(first.firstDirtyOffset());
        assertThat(readAll()).hasSize(300); // distinct keys: nothing goes
    }

    @Test
    void maybeCleanRunsOnlyForCompactedLogsOnceTheDirtyRatioOrMaxLagIsReachedAndNotBeforeTheMinLag()
            throws Exception {
        log = PartitionLog.open(dir.resolve("t-0"), SMALL_SEGMENTS, clock);
        fillSegments("k", 60);
        long hw = log.logEndOffset();
        assertThat(maybeClean(hw).segmentsCleaned()).as("cleanup.policy=delete").isZero();

        log.updateCompaction(CompactionConfig.DEFAULTS.withOverrides(Map.of("cleanup.policy", "compact",
                "min.compaction.lag.ms", Long.toString(HOUR))));
        assertThat(maybeClean(hw).segmentsCleaned()).as("too young").isZero();
        assertThat(log.lastCleanMs()).as("never cleaned").isEqualTo(-1);
        clock.advance(HOUR);
        assertThat(maybeClean(0).segmentsCleaned()).as("above the high watermark")
                .isZero();
        assertThat(maybeClean(hw).segmentsCleaned()).as("all dirty").isPositive();
        assertThat(log.lastCleanMs()).isEqualTo(clock.millis());
        assertThat(log.dirtyPercent()).as("after the clean").isZero();
        assertThat(maybeClean(hw).segmentsCleaned()).as("nothing dirty").isZero();

        // A little new data: below the default ratio 0.5 of dirty bytes, so no clean; a lower ratio cleans.
        fillSegments("k", 20);
        clock.advance(HOUR);
        long hw2 = log.logEndOffset();
        log.updateCompaction(log.compaction().withOverrides(Map.of("min.cleanable.dirty.ratio", "0.9")));
        assertThat(maybeClean(hw2).segmentsCleaned()).isZero();
        assertThat(log.dirtyPercent()).as("some dirty, below 90%").isBetween(1, 89);
        log.updateCompaction(log.compaction().withOverrides(Map.of("max.compaction.lag.ms", Long.toString(HOUR))));
        assertThat(maybeClean(hw2).segmentsCleaned()).as("overdue").isPositive();
    }

    @Test
    void aCompactedLogRollsItsActiveSegmentAtMaxCompactionLagWhenThatIsShorterThanSegmentMs() throws Exception {
        log = PartitionLog.open(dir.resolve("t-0"), new LogConfig(1 << 20, 24 * HOUR, -1, -1, 1_048_588, 256, 4096),
                clock);
        append("k", "v0");
        clock.advance(HOUR + 1);
        append("k", "v1");
        assertThat(log.numberOfSegments()).as("cleanup.policy=delete: segment.ms (a day) decides").isEqualTo(1);

        log.updateCompaction(CompactionConfig.DEFAULTS.withOverrides(Map.of("cleanup.policy", "compact",
                "max.compaction.lag.ms", Long.toString(HOUR))));
        append("k", "v2");
        assertThat(log.numberOfSegments()).as("the first append is more than max.compaction.lag.ms old").isEqualTo(2);
        clock.advance(HOUR + 1);
        assertThat(maybeClean(log.logEndOffset()).segmentsCleaned()).as("the rolled segment is overdue").isEqualTo(1);
    }

    @Test
    void truncatingBelowTheCleanerCheckpointMakesTheRewrittenOffsetsDirtyAgain() throws Exception {
        log = PartitionLog.open(dir.resolve("t-0"), SMALL_SEGMENTS, clock);
        for (int i = 0; i < 200; i++) {
            append("k" + (i % 5), "v" + i);
        }
        PartitionLog.CleanResult result = clean(log.logEndOffset(), 1 << 20);
        Path checkpoint = dir.resolve("t-0").resolve(PartitionLog.CLEANER_CHECKPOINT_FILE);
        assertThat(Checkpoint.read(checkpoint, 0)).isEqualTo(result.firstDirtyOffset()).isPositive();

        log.truncateTo(result.firstDirtyOffset() - 3);
        assertThat(Checkpoint.read(checkpoint, 0)).isEqualTo(log.logEndOffset());
        log.truncateFullyAndStartAt(1_000);
        assertThat(Checkpoint.read(checkpoint, 0)).isEqualTo(1_000);
    }

    /**
     * A truncation into the last segment of a clean's group while the clean runs (in place: the segment object stays,
     * and appends make it roll): the clean swaps nothing more in and leaves the checkpoint, so the records written
     * after the truncation are all there.
     */
    @Test
    void aTruncationDuringACleanStopsItsSwapsAndKeepsTheRecordsWrittenAfterIt() throws Exception {
        log = PartitionLog.open(dir.resolve("t-0"), SMALL_SEGMENTS, clock);
        for (int i = 0; i < 300; i++) {
            append("k" + (i % 5), "v" + i);
        }
        clean(log.logEndOffset(), 1 << 20); // small segments, to be merged by the next clean
        for (int i = 300; i < 320; i++) {
            append("k" + (i % 5), "v" + i);
        }
        List<Long> bases = log.segmentBaseOffsets();
        long target = bases.get(bases.size() - 2) + 1; // inside the last closed segment
        long checkpointBefore = Checkpoint.read(dir.resolve("t-0").resolve(PartitionLog.CLEANER_CHECKPOINT_FILE), 0);
        boolean[] truncated = {false};
        log.clean(bases.get(bases.size() - 1), clock.millis(), HOUR, 1 << 20, bytes -> {
            if (!truncated[0]) {
                truncated[0] = true;
                try {
                    log.truncateTo(target);
                    for (int i = 0; i < 200; i++) {
                        append("new" + i, "v" + log.logEndOffset());
                    }
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
        });

        List<KafkaRecords.KeyValue> all = readAll();
        assertThat(all).extracting(KafkaRecords.KeyValue::offset).isSorted().doesNotHaveDuplicates();
        assertThat(all).allSatisfy(kv -> assertThat(value(kv)).isEqualTo("v" + kv.offset()));
        assertThat(all.stream().filter(kv -> key(kv).startsWith("new"))).hasSize(200);
        assertThat(Checkpoint.read(dir.resolve("t-0").resolve(PartitionLog.CLEANER_CHECKPOINT_FILE), 0))
                .isLessThanOrEqualTo(Math.min(checkpointBefore, target));
    }

    /**
     * After a clean removed whole epochs' first batches (and the producer snapshots in its range), a restart that
     * finds no snapshot to trust keeps the leader epochs of the compacted part from the checkpoint, not from the
     * headers left: a follower truncating by epoch end offset must get the epochs' real ends.
     */
    @Test
    void aRestartAfterACleanKeepsTheLeaderEpochsOfTheCompactedPart() throws Exception {
        log = PartitionLog.open(dir.resolve("t-0"), SMALL_SEGMENTS, clock);
        for (int epoch = 0; epoch < 3; epoch++) {
            for (int i = 0; i < 100; i++) {
                log.append(MemoryRecords.withRecords(Compression.NONE, new SimpleRecord(clock.millis(),
                        bytes("k" + (i % 5)), bytes("v" + log.logEndOffset()))).buffer(), epoch);
            }
        }
        List<EpochEntry> epochs = log.leaderEpochCache().entries();
        assertThat(epochs).extracting(EpochEntry::startOffset).containsExactly(0L, 100L, 200L);
        clean(log.logEndOffset(), 1 << 20);
        assertThat(readAll()).noneSatisfy(kv -> assertThat(kv.offset()).isLessThan(200)); // epochs 0 and 1 all gone

        Path crashed = TestBatches.copyDir(dir.resolve("t-0"), dir.resolve("crashed")); // no clean shutdown
        try (var files = Files.list(crashed)) {
            for (Path snapshot : files.filter(f -> f.toString().endsWith(".snapshot")).toList()) {
                Files.delete(snapshot);
            }
        }
        PartitionLog reopened = PartitionLog.open(crashed, SMALL_SEGMENTS, clock);
        try {
            assertThat(reopened.leaderEpochCache().entries()).isEqualTo(epochs);
        } finally {
            reopened.close();
        }
    }

    @Test
    void aCompactedLogRefusesARecordWithoutAKeyAndStoresNothingOfItsAppend() throws IOException {
        log = PartitionLog.open(dir.resolve("t-0"), SMALL_SEGMENTS, clock);
        ByteBuffer keyless = MemoryRecords.withRecords(Compression.NONE,
                new SimpleRecord(clock.millis(), bytes("k"), bytes("v")),
                new SimpleRecord(clock.millis(), null, bytes("no key")),
                new SimpleRecord(clock.millis(), bytes("k2"), bytes("v")),
                new SimpleRecord(clock.millis(), null, bytes("no key either"))).buffer();
        log.append(keyless.duplicate(), 0); // cleanup.policy=delete: keys are optional
        log.updateCompaction(CompactionConfig.DEFAULTS.withOverrides(Map.of("cleanup.policy", "compact")));
        long end = log.logEndOffset();

        org.assertj.core.api.Assertions.assertThatThrownBy(() -> log.append(keyless.duplicate(), 0))
                .isInstanceOfSatisfying(LogException.class, e -> {
                    assertThat(e.error()).isEqualTo(LogError.INVALID_RECORD);
                    assertThat(e.getMessage()).contains("without key").contains("t-0");
                    assertThat(e.recordIndexes()).as("the records at fault, for KIP-467's record errors")
                            .containsExactly(1, 3);
                });
        assertThat(log.logEndOffset()).isEqualTo(end);
        append("k", "keyed"); // a keyed record is still accepted
    }

    @Test
    void retentionDeletesOnlyWithTheDeletePolicy() throws IOException {
        log = PartitionLog.open(dir.resolve("t-0"),
                new LogConfig(1024, HOUR, 1, -1, 1_048_588, 256, 4096), clock);
        fillSegments("k", 60);
        clock.advance(10);
        log.updateCompaction(CompactionConfig.DEFAULTS.withOverrides(Map.of("cleanup.policy", "compact")));
        assertThat(log.deleteRetainedSegments()).isZero();
        log.updateCompaction(CompactionConfig.DEFAULTS.withOverrides(Map.of("cleanup.policy", "compact,delete")));
        assertThat(log.deleteRetainedSegments()).isPositive();
    }

    @Test
    void compactDeleteBothCompactsAndDeletesByRetention() throws Exception {
        log = PartitionLog.open(dir.resolve("t-0"), new LogConfig(1024, 24 * HOUR, HOUR, -1, 1_048_588, 256, 4096),
                clock);
        log.updateCompaction(CompactionConfig.DEFAULTS.withOverrides(Map.of("cleanup.policy", "compact,delete",
                "max.compaction.lag.ms", Long.toString(HOUR))));
        for (int i = 0; i < 200; i++) {
            append("old" + (i % 5), "v" + i);
        }
        assertThat(maybeClean(log.logEndOffset()).segmentsCleaned()).as("compacted").isPositive();
        assertThat(readAll()).hasSizeLessThan(50);
        assertThat(log.deleteRetainedSegments()).as("nothing is an hour old yet").isZero();

        clock.advance(2 * HOUR);
        long newFrom = log.logEndOffset();
        for (int i = 0; i < 50; i++) {
            append("new" + (i % 5), "v" + log.logEndOffset());
        }
        assertThat(log.deleteRetainedSegments()).as("retention").isPositive();
        // the first new append rolled (max.compaction.lag.ms): every old segment was closed and an hour old
        assertThat(log.logStartOffset()).isEqualTo(newFrom);
        // retention removes even each old key's latest value, as in Kafka
        assertThat(readAll()).noneSatisfy(kv -> assertThat(key(kv)).startsWith("old"));
    }

    @Test
    void cleanupPolicyValuesAreKafkas() {
        CompactionConfig d = CompactionConfig.DEFAULTS;
        assertThat(d.withOverrides(Map.of("cleanup.policy", "compact")).cleanupPolicy()).isEqualTo("compact");
        assertThat(d.withOverrides(Map.of("cleanup.policy", "delete, compact")).cleanupPolicy())
                .isEqualTo("compact,delete");
        assertThat(d.cleanupPolicy()).isEqualTo("delete");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> d.withOverrides(Map.of("cleanup.policy", "remove")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cleanup.policy");
        org.assertj.core.api.Assertions.assertThatThrownBy(
                () -> d.withOverrides(Map.of("min.cleanable.dirty.ratio", "1.5")))
                .hasMessageContaining("min.cleanable.dirty.ratio");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> d.withOverrides(Map.of(
                "min.compaction.lag.ms", "10", "max.compaction.lag.ms", "5"))).hasMessageContaining("max.compaction");
    }

    /** An unthrottled clean now, tombstones kept an hour. */
    private PartitionLog.CleanResult clean(long cleanableEnd, long offsetMapBytes)
            throws IOException, InterruptedException {
        return log.clean(cleanableEnd, clock.millis(), HOUR, offsetMapBytes, CleanerThrottle.UNLIMITED);
    }

    private PartitionLog.CleanResult maybeClean(long upperBound) throws IOException, InterruptedException {
        return log.maybeClean(upperBound, clock.millis(), 1 << 20, CleanerThrottle.UNLIMITED);
    }

    private long append(String key, String value) throws IOException {
        return log.append(MemoryRecords.withRecords(Compression.NONE,
                new SimpleRecord(clock.millis(), bytes(key), bytes(value))).buffer(), 0).lastOffset();
    }

    private long appendTombstone(String key) throws IOException {
        return log.append(MemoryRecords.withRecords(Compression.NONE,
                new SimpleRecord(clock.millis(), bytes(key), null)).buffer(), 0).lastOffset();
    }

    private void fillSegments(String keyPrefix, int records) throws IOException {
        for (int i = 0; i < records; i++) {
            long offset = log.logEndOffset();
            append(keyPrefix + i, "v" + offset);
        }
    }

    private long closedSegmentBytes() throws IOException {
        List<Long> bases = log.segmentBaseOffsets();
        long bytes = 0;
        for (long base : bases.subList(0, bases.size() - 1)) {
            bytes += Files.size(TestBatches.logFile(dir.resolve("t-0"), base));
        }
        return bytes;
    }

    private long activeBase() {
        List<Long> bases = log.segmentBaseOffsets();
        return bases.get(bases.size() - 1);
    }

    private List<KafkaRecords.KeyValue> readAll() throws IOException {
        return KafkaRecords.records(log.read(log.logStartOffset(), Integer.MAX_VALUE, Long.MAX_VALUE).records());
    }

    private static long latestBelow(List<KafkaRecords.KeyValue> records, String key, long below) {
        return records.stream().filter(kv -> kv.offset() < below && key(kv).equals(key))
                .mapToLong(KafkaRecords.KeyValue::offset).max().orElseThrow();
    }

    private static String key(KafkaRecords.KeyValue kv) {
        return new String(kv.key(), StandardCharsets.UTF_8);
    }

    private static String value(KafkaRecords.KeyValue kv) {
        return kv.value() == null ? null : new String(kv.value(), StandardCharsets.UTF_8);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
