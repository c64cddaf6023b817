package io.tributary.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The leader epoch cache on its own: Kafka's LeaderEpochFileCache rules, table-driven, and its checkpoint file. */
class LeaderEpochCacheTest {
    @TempDir
    Path dir;

    private static EpochEntry e(int epoch, long startOffset) {
        return new EpochEntry(epoch, startOffset);
    }

    private LeaderEpochCache cacheWith(EpochEntry... entries) throws IOException {
        LeaderEpochCache cache = LeaderEpochCache.open(dir.resolve(LeaderEpochCache.FILE_NAME));
        for (EpochEntry entry : entries) {
            cache.assign(entry.epoch(), entry.startOffset());
        }
        assertThat(cache.entries()).containsExactly(entries);
        return cache;
    }

    /** Re-reads the file: every change must have been persisted. */
    private List<EpochEntry> persisted() throws IOException {
        return LeaderEpochCache.open(dir.resolve(LeaderEpochCache.FILE_NAME)).entries();
    }

    // ---------------------------------------------------------------- endOffsetFor

    static final long LEO = 50;

    /** Entries (1,10) (3,20) (6,40), log end offset 50: requested epoch -> expected answer. */
    static Stream<Arguments> endOffsetCases() {
        return Stream.of(
                Arguments.of("undefined epoch", -1, EpochEndOffset.UNDEFINED),
                Arguments.of("below the first epoch: its start (Kafka >= 2.0)", 0, new EpochEndOffset(0, 10)),
                Arguments.of("first epoch ends where the next starts", 1, new EpochEndOffset(1, 20)),
                Arguments.of("gap: largest epoch below it", 2, new EpochEndOffset(1, 20)),
                Arguments.of("middle epoch", 3, new EpochEndOffset(3, 40)),
                Arguments.of("gap after the middle epoch", 5, new EpochEndOffset(3, 40)),
                Arguments.of("latest epoch ends at the log end offset", 6, new EpochEndOffset(6, LEO)),
                Arguments.of("newer than the latest", 7, EpochEndOffset.UNDEFINED));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("endOffsetCases")
    void answersEndOffsetForEpochAsKafkaDoes(String name, int requested, EpochEndOffset expected)
            throws IOException {
        LeaderEpochCache cache = cacheWith(e(1, 10), e(3, 20), e(6, 40));

        assertThat(cache.endOffsetFor(requested, LEO)).isEqualTo(expected);
    }

    @Test
    void anEmptyCacheAnswersUndefined() throws IOException {
        LeaderEpochCache cache = cacheWith();

        assertThat(cache.endOffsetFor(0, 10)).isEqualTo(EpochEndOffset.UNDEFINED);
        assertThat(cache.endOffsetFor(-1, 10).isUndefined()).isTrue();
        assertThat(cache.latestEpoch()).isEmpty();
        assertThat(cache.latestEntry()).isEmpty();
    }

    @Test
    void aSingleEpochEndsAtTheLogEndOffset() throws IOException {
        LeaderEpochCache cache = cacheWith(e(4, 0));

        assertThat(cache.endOffsetFor(4, 17)).isEqualTo(new EpochEndOffset(4, 17));
        assertThat(cache.endOffsetFor(2, 17)).isEqualTo(new EpochEndOffset(2, 0));
        assertThat(cache.endOffsetFor(5, 17)).isEqualTo(EpochEndOffset.UNDEFINED);
        assertThat(cache.latestEpoch()).hasValue(4);
    }

    // ---------------------------------------------------------------- assign

    static Stream<Arguments> assignCases() {
        return Stream.of(
                Arguments.of("first entry", List.of(), e(0, 0), List.of(e(0, 0))),
                Arguments.of("newer epoch at a later offset is appended", List.of(e(0, 0), e(2, 10)), e(4, 20),
                        List.of(e(0, 0), e(2, 10), e(4, 20))),
                Arguments.of("same epoch at a later offset changes nothing", List.of(e(0, 0), e(2, 10)), e(2, 15),
                        List.of(e(0, 0), e(2, 10))),
                Arguments.of("same epoch at an earlier offset moves its start", List.of(e(0, 0), e(2, 10)),
                        e(2, 5), List.of(e(0, 0), e(2, 5))),
                Arguments.of("newer epoch at the start of an empty latest epoch replaces it",
                        List.of(e(0, 0), e(2, 10)), e(3, 10), List.of(e(0, 0), e(3, 10))),
                Arguments.of("newer epoch below later start offsets removes those entries",
                        List.of(e(0, 0), e(2, 10), e(3, 20)), e(5, 12), List.of(e(0, 0), e(2, 10), e(5, 12))),
                Arguments.of("older epoch removes the entries with epoch >= it (Kafka)",
                        List.of(e(0, 0), e(2, 10), e(3, 20)), e(2, 15), List.of(e(0, 0), e(2, 15))),
                Arguments.of("older epoch at an earlier offset removes everything after",
                        List.of(e(1, 5), e(2, 10), e(3, 20)), e(0, 0), List.of(e(0, 0))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("assignCases")
    void assignFollowsKafkasRules(String name, List<EpochEntry> before, EpochEntry assigned,
                                  List<EpochEntry> after) throws IOException {
        LeaderEpochCache cache = cacheWith(before.toArray(EpochEntry[]::new));

        cache.assign(assigned.epoch(), assigned.startOffset());

        assertThat(cache.entries()).containsExactlyElementsOf(after);
        assertThat(persisted()).containsExactlyElementsOf(after);
    }

    @Test
    void rejectsNegativeEpochsAndOffsets() throws IOException {
        LeaderEpochCache cache = cacheWith(e(0, 0));

        assertThatThrownBy(() -> cache.assign(-1, 5)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> cache.assign(1, -5)).isInstanceOf(IllegalArgumentException.class);
        assertThat(cache.entries()).containsExactly(e(0, 0));
    }

    // ---------------------------------------------------------------- truncation

    static Stream<Arguments> truncateFromEndCases() {
        return Stream.of(
                Arguments.of(100L, List.of(e(0, 0), e(2, 10), e(5, 20))),
                Arguments.of(21L, List.of(e(0, 0), e(2, 10), e(5, 20))),
                Arguments.of(20L, List.of(e(0, 0), e(2, 10))),
                Arguments.of(11L, List.of(e(0, 0), e(2, 10))),
                Arguments.of(10L, List.of(e(0, 0))),
                Arguments.of(0L, List.of()));
    }

    @ParameterizedTest(name = "truncateFromEnd({0})")
    @MethodSource("truncateFromEndCases")
    void truncateFromEndRemovesEntriesStartingAtOrAfterTheNewEnd(long endOffset, List<EpochEntry> expected)
            throws IOException {
        LeaderEpochCache cache = cacheWith(e(0, 0), e(2, 10), e(5, 20));

        cache.truncateFromEnd(endOffset);

        assertThat(cache.entries()).containsExactlyElementsOf(expected);
        assertThat(persisted()).containsExactlyElementsOf(expected);
    }

    static Stream<Arguments> truncateFromStartCases() {
        return Stream.of(
                Arguments.of(0L, List.of(e(0, 0), e(2, 10), e(5, 20))),
                Arguments.of(5L, List.of(e(0, 5), e(2, 10), e(5, 20))),
                Arguments.of(10L, List.of(e(2, 10), e(5, 20))),
                Arguments.of(15L, List.of(e(2, 15), e(5, 20))),
                Arguments.of(20L, List.of(e(5, 20))),
                Arguments.of(25L, List.of(e(5, 25))));
    }

    @ParameterizedTest(name = "truncateFromStart({0})")
    @MethodSource("truncateFromStartCases")
    void truncateFromStartMovesTheCoveringEntryAndDropsEarlierOnes(long startOffset, List<EpochEntry> expected)
            throws IOException {
        LeaderEpochCache cache = cacheWith(e(0, 0), e(2, 10), e(5, 20));

        cache.truncateFromStart(startOffset);

        assertThat(cache.entries()).containsExactlyElementsOf(expected);
        assertThat(persisted()).containsExactlyElementsOf(expected);
    }

    @Test
    void truncateFromStartBeforeTheFirstEntryChangesNothing() throws IOException {
        LeaderEpochCache cache = cacheWith(e(3, 100));

        cache.truncateFromStart(40);

        assertThat(cache.entries()).containsExactly(e(3, 100));
    }

    @Test
    void clearEmptiesTheCacheAndTheFile() throws IOException {
        LeaderEpochCache cache = cacheWith(e(0, 0), e(1, 4));

        cache.clear();

        assertThat(cache.entries()).isEmpty();
        assertThat(persisted()).isEmpty();
        assertThat(Files.readString(dir.resolve(LeaderEpochCache.FILE_NAME))).isEqualTo("0\n0\n");
    }

    // ---------------------------------------------------------------- the file

    @Test
    void writesKafkasCheckpointFormatAtomically() throws IOException {
        cacheWith(e(0, 0), e(3, 150));

        assertThat(Files.readString(dir.resolve(LeaderEpochCache.FILE_NAME), StandardCharsets.UTF_8))
                .isEqualTo("0\n2\n0 0\n3 150\n");
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(f -> f.getFileName().toString())).containsExactly(LeaderEpochCache.FILE_NAME);
        }
    }

    @Test
    void readsWhatItWrote() throws IOException {
        List<EpochEntry> entries = new ArrayList<>();
        for (int epoch = 0; epoch < 50; epoch += 3) {
            entries.add(e(epoch, epoch * 1000L));
        }
        cacheWith(entries.toArray(EpochEntry[]::new));

        assertThat(persisted()).containsExactlyElementsOf(entries);
        assertThat(LeaderEpochCache.decode(LeaderEpochCache.encode(entries).lines().toList())).contains(entries);
    }

    static Stream<Arguments> garbledFiles() {
        return Stream.of(
                Arguments.of("empty", ""),
                Arguments.of("version only", "0\n"),
                Arguments.of("unknown version", "1\n1\n0 0\n"),
                Arguments.of("fewer entries than counted (torn)", "0\n3\n0 0\n2 10\n"),
                Arguments.of("more entries than counted", "0\n1\n0 0\n2 10\n"),
                Arguments.of("torn line", "0\n2\n0 0\n2\n"),
                Arguments.of("not a number", "0\n1\nzero 0\n"),
                Arguments.of("negative epoch", "0\n1\n-1 0\n"),
                Arguments.of("epochs not ascending", "0\n2\n3 0\n2 10\n"),
                Arguments.of("start offsets not ascending", "0\n2\n1 10\n2 10\n"),
                Arguments.of("binary garbage", "\u0000\uFFFD\u0007\n\u0001"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("garbledFiles")
    void aGarbledFileReadsAsNoCheckpoint(String name, String content) throws IOException {
        Path file = dir.resolve(LeaderEpochCache.FILE_NAME);
        Files.writeString(file, content, StandardCharsets.UTF_8);

        assertThat(LeaderEpochCache.readFile(file)).isEmpty();
        assertThat(LeaderEpochCache.open(file).entries()).isEmpty();
    }

    @Test
    void invalidUtf8ReadsAsNoCheckpoint() throws IOException {
        Path file = dir.resolve(LeaderEpochCache.FILE_NAME);
        Files.write(file, new byte[] {'0', '\n', (byte) 0xC3, (byte) 0x28, '\n'});

        assertThat(LeaderEpochCache.readFile(file)).isEmpty();
    }

    @Test
    void aMissingFileIsAnEmptyCache() throws IOException {
        assertThat(LeaderEpochCache.open(dir.resolve(LeaderEpochCache.FILE_NAME)).entries()).isEmpty();
    }

    // ---------------------------------------------------------------- recovery (used by PartitionLog.open)

    @Test
    void recoverCutsTheCheckpointToTheLogAndRewritesIt() throws IOException {
        Path file = dir.resolve(LeaderEpochCache.FILE_NAME);
        cacheWith(e(0, 0), e(2, 10), e(5, 20), e(6, 30));

        // the log now holds [10, 25): retention took 0..9, a torn tail took 25.. (epoch 6 had no record left)
        LeaderEpochCache cache = LeaderEpochCache.recover(file, List.of(e(0, 0), e(2, 10), e(5, 20)), 10, 25, 0);

        assertThat(cache.entries()).containsExactly(e(2, 10), e(5, 20));
        assertThat(persisted()).containsExactly(e(2, 10), e(5, 20));
    }

    @Test
    void recoverPrefersTheBatchHeadersWhenTheCheckpointDisagrees() throws IOException {
        Path file = dir.resolve(LeaderEpochCache.FILE_NAME);
        Files.writeString(file, "0\n2\n0 0\n4 7\n");

        LeaderEpochCache cache = LeaderEpochCache.recover(file, List.of(e(0, 0), e(3, 9)), 0, 20, 0);

        assertThat(cache.entries()).containsExactly(e(0, 0), e(3, 9));
        assertThat(persisted()).containsExactly(e(0, 0), e(3, 9));
    }

    @Test
    void rebuilderStartsAnEntryAtEachNewerEpoch() {
        LeaderEpochCache.Rebuilder rebuilder = new LeaderEpochCache.Rebuilder();
        long[][] batches = {{0, -1}, {2, 0}, {5, 0}, {7, 3}, {9, 1}, {12, 3}, {15, 8}};
        for (long[] batch : batches) { // base offset, partition leader epoch
            rebuilder.accept(new RecordBatchHeader(batch[0], 49, (int) batch[1], (byte) 2, 0, (short) 0, 1, 0, 0,
                    -1, (short) -1, -1, 2));
        }

        assertThat(rebuilder.entries()).containsExactly(e(0, 2), e(3, 7), e(8, 15));
    }
}
