package io.tributary.storage;

import static io.tributary.storage.TestBatches.batch;
import static io.tributary.storage.TestBatches.bytes;
import static io.tributary.storage.TestBatches.copyDir;
import static io.tributary.storage.TestBatches.parse;
import static io.tributary.storage.TestBatches.recordOffsets;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.stream.LongStream;
import java.util.stream.Stream;

import org.apache.kafka.common.record.RecordBatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The leader epoch cache inside the partition log: appends, truncation, retention, recovery, divergence. */
class LeaderEpochLogTest {
    /** Small segments (about seven 3-record batches) so that logs span several segments. */
    static final LogConfig CONFIG = new LogConfig(1024, 3_600_000, -1, -1, 1_048_588, 100, 4096);

    @TempDir
    Path tmp;
    TestBatches.MutableClock clock = new TestBatches.MutableClock(1_000_000);
    final List<PartitionLog> opened = new ArrayList<>();

    @AfterEach
    void closeAll() throws IOException {
        for (PartitionLog log : opened) {
            log.close();
        }
    }

    private PartitionLog open(String name) throws IOException {
        return open(tmp.resolve(name), CONFIG);
    }

    private PartitionLog open(Path dir, LogConfig config) throws IOException {
        PartitionLog log = PartitionLog.open(dir, config, clock);
        opened.add(log);
        return log;
    }

    private static EpochEntry e(int epoch, long startOffset) {
        return new EpochEntry(epoch, startOffset);
    }

    private static ByteBuffer readAll(PartitionLog log) throws IOException {
        return log.read(log.logStartOffset(), Integer.MAX_VALUE, Long.MAX_VALUE).records();
    }

    /** Leader appends of one 3-record batch per epoch given. */
    private static void appendBatches(PartitionLog log, int... epochs) throws IOException {
        for (int epoch : epochs) {
            log.append(batch(3, 1000 + log.logEndOffset()), epoch);
        }
    }

    /** Fetches from {@code leader} into {@code follower} until both end at the same offset. */
    private static void replicate(PartitionLog leader, PartitionLog follower, int maxBytes) throws IOException {
        while (follower.logEndOffset() < leader.logEndOffset()) {
            follower.appendAsFollower(leader.read(follower.logEndOffset(), maxBytes, Long.MAX_VALUE).records());
        }
    }

    // ---------------------------------------------------------------- leader and follower appends

    @Test
    void leaderAppendsRecordTheFirstOffsetOfEachNewEpoch() throws IOException {
        // Given a leader appending one 3-record batch each under epochs 0, 0, 3, 3, 5
        PartitionLog log = open("p-0");
        appendBatches(log, 0, 0, 3, 3, 5);

        // Then each epoch starts at its first batch, and batches carry their epoch
        assertThat(log.leaderEpochCache().entries()).containsExactly(e(0, 0), e(3, 6), e(5, 12));
        assertThat(log.latestEpoch()).hasValue(5);
        assertThat(parse(readAll(log))).extracting(RecordBatch::partitionLeaderEpoch).containsExactly(0, 0, 3, 3, 5);
        assertThat(log.endOffsetForEpoch(0)).isEqualTo(new EpochEndOffset(0, 6));
        assertThat(log.endOffsetForEpoch(2)).isEqualTo(new EpochEndOffset(0, 6));
        assertThat(log.endOffsetForEpoch(3)).isEqualTo(new EpochEndOffset(3, 12));
        assertThat(log.endOffsetForEpoch(4)).isEqualTo(new EpochEndOffset(3, 12));
        assertThat(log.endOffsetForEpoch(5)).isEqualTo(new EpochEndOffset(5, 15));
        assertThat(log.endOffsetForEpoch(6)).isEqualTo(EpochEndOffset.UNDEFINED);
        assertThat(log.endOffsetForEpoch(-1)).isEqualTo(EpochEndOffset.UNDEFINED);
        assertThat(Files.readString(log.dir().resolve(LeaderEpochCache.FILE_NAME)))
                .isEqualTo("0\n3\n0 0\n3 6\n5 12\n");
    }

    @Test
    void theCacheSurvivesACleanCloseAndACrash() throws IOException {
        PartitionLog log = open("p-0");
        appendBatches(log, 0, 0, 3, 3, 5);
        Path crashCopy = copyDir(log.dir(), tmp.resolve("crash"));
        log.close();

        assertThat(open("p-0").leaderEpochCache().entries()).containsExactly(e(0, 0), e(3, 6), e(5, 12));
        assertThat(open(crashCopy, CONFIG).leaderEpochCache().entries()).containsExactly(e(0, 0), e(3, 6), e(5, 12));
    }

    @Test
    void aFollowerBuildsTheSameCacheAsItsLeader() throws IOException {
        // Given a leader with multi-batch appends and epoch gaps, over several segments
        PartitionLog leader = open("leader");
        appendBatches(leader, 0, 0, 2, 2, 2);
        leader.append(TestBatches.concat(batch(2, 1), batch(4, 2), batch(1, 3)), 7);
        appendBatches(leader, 9, 9, 9, 9, 9, 9, 9, 9, 12);
        assertThat(leader.numberOfSegments()).isGreaterThan(1);

        // When two followers fetch it, one batch per fetch and everything at once
        PartitionLog oneByOne = open("follower-1");
        PartitionLog allAtOnce = open("follower-2");
        replicate(leader, oneByOne, 1);
        replicate(leader, allAtOnce, Integer.MAX_VALUE);

        // Then both have the leader's bytes and the leader's cache, also after a reopen
        List<EpochEntry> expected = List.of(e(0, 0), e(2, 6), e(7, 15), e(9, 22), e(12, 46));
        assertThat(leader.leaderEpochCache().entries()).containsExactlyElementsOf(expected);
        for (PartitionLog follower : List.of(oneByOne, allAtOnce)) {
            assertThat(bytes(readAll(follower))).isEqualTo(bytes(readAll(leader)));
            assertThat(follower.leaderEpochCache().entries()).containsExactlyElementsOf(expected);
            follower.close();
            assertThat(open(follower.dir(), CONFIG).leaderEpochCache().entries()).containsExactlyElementsOf(expected);
        }
    }

    @Test
    void assignEpochStartsANewEpochAtTheLogEndOffsetBeforeAnyAppend() throws IOException {
        // Given a log with epoch 0 up to offset 6
        PartitionLog log = open("p-0");
        appendBatches(log, 0, 0);

        // When the replica becomes leader of epoch 4
        log.assignEpoch(4);

        // Then epoch 0 ends at 6 and epoch 4 starts there, before any append
        assertThat(log.leaderEpochCache().entries()).containsExactly(e(0, 0), e(4, 6));
        assertThat(log.endOffsetForEpoch(0)).isEqualTo(new EpochEndOffset(0, 6));
        assertThat(log.endOffsetForEpoch(4)).isEqualTo(new EpochEndOffset(4, 6));
        log.assignEpoch(4); // idempotent
        appendBatches(log, 4);
        assertThat(log.leaderEpochCache().entries()).containsExactly(e(0, 0), e(4, 6));
        assertThat(log.endOffsetForEpoch(4)).isEqualTo(new EpochEndOffset(4, 9));
    }

    @Test
    void rejectsLeaderAppendsAndAssignmentsWithAStaleEpochAndWritesNothing() throws IOException {
        PartitionLog log = open("p-0");
        appendBatches(log, 0, 3);
        long sizeBefore = log.sizeInBytes();

        assertThatThrownBy(() -> log.append(batch(1, 0), 2)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> log.append(batch(1, 0), -1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> log.assignEpoch(1)).isInstanceOf(IllegalArgumentException.class);

        assertThat(log.sizeInBytes()).isEqualTo(sizeBefore);
        assertThat(log.logEndOffset()).isEqualTo(6);
        assertThat(log.leaderEpochCache().entries()).containsExactly(e(0, 0), e(3, 3));
    }

    @Test
    void aNewLogHasNoEpochs() throws IOException {
        PartitionLog log = open("p-0");

        assertThat(log.latestEpoch()).isEqualTo(OptionalInt.empty());
        assertThat(log.endOffsetForEpoch(0)).isEqualTo(EpochEndOffset.UNDEFINED);
    }

    // ---------------------------------------------------------------- truncation and retention

    @Test
    void truncatingInsideABatchTruncatesToItsStartAndTrimsTheCache() throws IOException {
        // Given batches 0..2 (epoch 0), 3..5 and 6..8 (epoch 2), 9..11 (epoch 4)
        PartitionLog log = open("p-0");
        appendBatches(log, 0, 2, 2, 4);

        // When truncating to 10, inside the epoch-4 batch
        log.truncateTo(10);

        // Then the whole batch and epoch 4 are gone
        assertThat(log.logEndOffset()).isEqualTo(9);
        assertThat(recordOffsets(readAll(log))).containsExactlyElementsOf(LongStream.range(0, 9).boxed().toList());
        assertThat(log.leaderEpochCache().entries()).containsExactly(e(0, 0), e(2, 3));
        assertThat(log.endOffsetForEpoch(2)).isEqualTo(new EpochEndOffset(2, 9));

        // And truncating to 4 (inside the first epoch-2 batch) leaves epoch 0 only, also after a reopen
        log.truncateTo(4);
        assertThat(log.logEndOffset()).isEqualTo(3);
        assertThat(log.leaderEpochCache().entries()).containsExactly(e(0, 0));
        log.close();
        PartitionLog reopened = open("p-0");
        assertThat(reopened.logEndOffset()).isEqualTo(3);
        assertThat(reopened.leaderEpochCache().entries()).containsExactly(e(0, 0));
    }

    @Test
    void truncatingAtABatchBoundaryKeepsTheEpochThatEndsThere() throws IOException {
        PartitionLog log = open("p-0");
        appendBatches(log, 0, 2, 2, 4);

        log.truncateTo(6);

        assertThat(log.logEndOffset()).isEqualTo(6);
        assertThat(log.leaderEpochCache().entries()).containsExactly(e(0, 0), e(2, 3));
    }

    @Test
    void truncatingAtTheEndDropsAnEpochThatWroteNothing() throws IOException {
        // Given a replica that became leader of epoch 5 and appended nothing (Kafka's truncateTo comment)
        PartitionLog log = open("p-0");
        appendBatches(log, 0, 2);
        log.assignEpoch(5);

        // When, as a follower again, it truncates to its own log end offset
        log.truncateTo(6);

        // Then no batch goes, but the empty epoch does
        assertThat(log.logEndOffset()).isEqualTo(6);
        assertThat(log.leaderEpochCache().entries()).containsExactly(e(0, 0), e(2, 3));
    }

    @Test
    void truncateFullyClearsTheCache() throws IOException {
        // Given a log with epochs, and a leader whose log restarts at 100 in epoch 6
        PartitionLog log = open("p-0");
        appendBatches(log, 0, 2);
        PartitionLog leader = open("leader");
        leader.truncateFullyAndStartAt(100);
        appendBatches(leader, 6);

        // When the follower restarts its log at 100 and fetches
        log.truncateFullyAndStartAt(100);
        assertThat(log.leaderEpochCache().entries()).isEmpty();
        replicate(leader, log, Integer.MAX_VALUE);

        // Then its cache starts there
        assertThat(log.leaderEpochCache().entries()).containsExactly(e(6, 100));
        assertThat(log.endOffsetForEpoch(6)).isEqualTo(new EpochEndOffset(6, 103));
    }

    @Test
    void retentionMovesTheFirstEpochToTheNewLogStartOffset() throws IOException {
        // Given four segments of two 2-record batches, epochs 0,0 | 0,1 | 1,1 | 3,3, and retention of two segments
        int batchSize = batch(2, 0).remaining();
        LogConfig config = new LogConfig(2L * batchSize, 3_600_000, -1, 4L * batchSize, 1_048_588, 4096, 4096);
        PartitionLog log = open(tmp.resolve("p-0"), config);
        for (int epoch : new int[] {0, 0, 0, 1, 1, 1, 3, 3}) {
            log.append(batch(2, 1000), epoch);
        }
        assertThat(log.leaderEpochCache().entries()).containsExactly(e(0, 0), e(1, 6), e(3, 12));

        // When retention deletes the two oldest segments
        assertThat(log.deleteRetainedSegments()).isEqualTo(2);

        // Then epoch 1, which covers the new log start offset 8, starts there, and epoch 0 is gone
        assertThat(log.logStartOffset()).isEqualTo(8);
        assertThat(log.leaderEpochCache().entries()).containsExactly(e(1, 8), e(3, 12));
        assertThat(log.endOffsetForEpoch(0)).isEqualTo(new EpochEndOffset(0, 8));
        log.close();
        assertThat(open(tmp.resolve("p-0"), config).leaderEpochCache().entries()).containsExactly(e(1, 8), e(3, 12));
    }

    // ---------------------------------------------------------------- recovery

    @Test
    void aTornTailThatTookAnEpochsFirstBatchTakesTheEpochToo() throws IOException {
        // Given a crash copy whose last batch, the only one of epoch 5, is torn
        PartitionLog log = open("p-0");
        appendBatches(log, 0, 0, 5);
        Path crash = copyDir(log.dir(), tmp.resolve("crash"));
        Path logFile = TestBatches.logFile(crash, 0);
        try (FileChannel ch = FileChannel.open(logFile, StandardOpenOption.WRITE)) {
            ch.truncate(Files.size(logFile) - 7);
        }

        // When it is reopened
        PartitionLog recovered = open(crash, CONFIG);

        // Then the log ends at 6 and the cache, on disk too, no longer knows epoch 5
        assertThat(recovered.logEndOffset()).isEqualTo(6);
        assertThat(recovered.leaderEpochCache().entries()).containsExactly(e(0, 0));
        assertThat(Files.readString(crash.resolve(LeaderEpochCache.FILE_NAME))).isEqualTo("0\n1\n0 0\n");
        appendBatches(recovered, 6);
        assertThat(recovered.leaderEpochCache().entries()).containsExactly(e(0, 0), e(6, 6));
    }

    @Test
    void anEpochAssignedWithoutRecordsIsForgottenOnReopenAsInKafka() throws IOException {
        PartitionLog log = open("p-0");
        appendBatches(log, 0);
        log.assignEpoch(2);
        log.close();

        assertThat(open("p-0").leaderEpochCache().entries()).containsExactly(e(0, 0));
    }

    static Stream<Arguments> damagedCheckpoints() {
        return Stream.of(
                Arguments.of("missing (a log written before the cache existed)", null),
                Arguments.of("torn", "0\n3\n0 0\n3 "),
                Arguments.of("garbled", "\u0000\u0001garbage"),
                Arguments.of("well-formed but wrong", "0\n2\n0 0\n4 2\n"),
                Arguments.of("missing an epoch", "0\n1\n0 0\n"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("damagedCheckpoints")
    void aDamagedCheckpointIsRebuiltFromTheBatchHeaders(String name, String content) throws IOException {
        // Given a log over several segments whose checkpoint is then damaged, after a clean close or a crash
        PartitionLog log = open("p-0");
        appendBatches(log, 0, 0, 0, 0, 0, 0, 0, 3, 3, 3, 3, 3, 3, 3, 3, 5, 5, 5);
        assertThat(log.numberOfSegments()).isGreaterThan(2);
        List<EpochEntry> expected = List.of(e(0, 0), e(3, 21), e(5, 45));
        Path crash = copyDir(log.dir(), tmp.resolve("crash"));
        log.close();
        for (Path dir : List.of(log.dir(), crash)) {
            Path file = dir.resolve(LeaderEpochCache.FILE_NAME);
            if (content == null) {
                Files.delete(file);
            } else {
                Files.writeString(file, content, StandardCharsets.UTF_8);
            }

            // When it is reopened, then the cache is what the appends built, and it is written back
            assertThat(open(dir, CONFIG).leaderEpochCache().entries()).containsExactlyElementsOf(expected);
            assertThat(LeaderEpochCache.readFile(file)).contains(expected);
        }
    }

    // ---------------------------------------------------------------- divergence (KIP-101 / KIP-279)

    /**
     * History of two replicas. {@code prefix}: batches the old leader A appended as leader and B replicated.
     * {@code oldTail}: batches A appended afterwards that B never fetched. {@code newTail}: batches B appended as
     * the new leader. Each batch is {@code epoch:recordCount}; a count of 0 only assigns the epoch (a leader that
     * appended nothing). {@code truncatedTo}: where A's log must be cut before it follows B.
     */
    static Stream<Arguments> divergences() {
        return Stream.of(
                Arguments.of("old leader's unreplicated tail in epoch 1", "0:3 0:2 1:2", "1:3 1:1", "2:2 2:3", 7L),
                Arguments.of("new leader never saw epoch 1", "0:3 0:2", "1:3 1:2", "2:4", 5L),
                Arguments.of("old replica only behind: nothing to cut", "0:3 0:3", "", "1:2 1:2", 6L),
                Arguments.of("unreplicated epochs 1 and 3 vs new epochs 2 and 4 (two rounds)", "0:3 0:2",
                        "1:2 3:3 3:1", "2:4 4:2", 5L),
                Arguments.of("new leader re-elected several times", "0:2", "1:3", "2:1 3:2 5:1", 2L),
                Arguments.of("old leader assigned epoch 1 and wrote nothing; new leader continued epoch 0", "0:3",
                        "1:0", "0:3 2:2", 3L),
                Arguments.of("new leader assigned an epoch it never wrote in", "0:2 1:2", "1:3", "2:0 3:2", 4L),
                Arguments.of("nothing in common: the old epoch is below the new leader's first", "", "0:3 0:1",
                        "1:2", 0L));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("divergences")
    void aDivergedReplicaTruncatedByEpochEndOffsetsBecomesIdenticalToTheLeader(String name, String prefix,
                                                                               String oldTail, String newTail,
                                                                               long truncatedTo) throws IOException {
        // Given the old leader A and the new leader B after the history in the table
        PartitionLog a = open("a");
        PartitionLog b = open("b");
        appendAsLeader(a, prefix, 1000);
        replicate(a, b, Integer.MAX_VALUE);
        appendAsLeader(a, oldTail, 100_000); // other timestamps: A's tail differs from B's in bytes
        appendAsLeader(b, newTail, 200_000);
        long commonEnd = commonPrefixEnd(readAll(a), readAll(b)); // the dumb oracle: compare bytes batch by batch

        // When A becomes B's follower: it cuts its log with OffsetForLeaderEpoch answers, then fetches
        reconcile(a, b);

        // Then A was cut exactly to the common prefix, and after fetching both logs are byte-identical
        assertThat(a.logEndOffset()).isEqualTo(truncatedTo).isEqualTo(commonEnd);
        replicate(b, a, 200); // a few batches per fetch
        assertThat(bytes(readAll(a))).isEqualTo(bytes(readAll(b)));
        assertThat(a.leaderEpochCache().entries()).isEqualTo(b.leaderEpochCache().entries());
        assertThat(a.logEndOffset()).isEqualTo(b.logEndOffset());
    }

    private static void appendAsLeader(PartitionLog log, String batches, long timestamp) throws IOException {
        for (String spec : batches.isBlank() ? new String[0] : batches.trim().split("\\s+")) {
            String[] parts = spec.split(":");
            int epoch = Integer.parseInt(parts[0]);
            int count = Integer.parseInt(parts[1]);
            log.assignEpoch(epoch); // becomeLeader, then the appends
            if (count > 0) {
                log.append(batch(count, timestamp + log.logEndOffset()), epoch);
            }
        }
    }

    /**
     * The follower side of KIP-101/KIP-279, as Kafka's {@code AbstractFetcherThread.getOffsetTruncationState}: ask
     * the leader where the follower's latest epoch ends; if the follower does not know the epoch of the answer,
     * cut to the end of the largest epoch below it and ask again; otherwise cut to the smaller end offset.
     */
    private static void reconcile(PartitionLog follower, PartitionLog leader) throws IOException {
        for (int round = 0; round < 100; round++) {
            OptionalInt latest = follower.latestEpoch();
            if (latest.isEmpty()) {
                return; // an empty log: nothing to cut
            }
            EpochEndOffset leaderAnswer = leader.endOffsetForEpoch(latest.getAsInt());
            assertThat(leaderAnswer.isUndefined()).as("leader answer for epoch %s", latest).isFalse();
            EpochEndOffset own = follower.endOffsetForEpoch(leaderAnswer.epoch());
            if (!own.isUndefined() && own.epoch() != leaderAnswer.epoch()) {
                follower.truncateTo(Math.min(own.endOffset(), follower.logEndOffset())); // and ask again
                continue;
            }
            long target = own.isUndefined() ? leaderAnswer.endOffset()
                    : Math.min(leaderAnswer.endOffset(), own.endOffset());
            follower.truncateTo(Math.min(target, follower.logEndOffset()));
            return;
        }
        throw new AssertionError("truncation did not converge");
    }

    /** End offset of the longest run of byte-identical batches at the start of both buffers. */
    private static long commonPrefixEnd(ByteBuffer a, ByteBuffer b) {
        int pos = 0;
        long end = 0;
        while (a.limit() - pos >= RecordBatchHeader.HEADER_SIZE && b.limit() - pos >= RecordBatchHeader.HEADER_SIZE) {
            RecordBatchHeader header = RecordBatchHeader.parse(a, pos);
            int size = header.sizeInBytes();
            if (b.limit() - pos < size || !a.slice(pos, size).equals(b.slice(pos, size))) {
                break;
            }
            end = header.nextOffset();
            pos += size;
        }
        return end;
    }
}
