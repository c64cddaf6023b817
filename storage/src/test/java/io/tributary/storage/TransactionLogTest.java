package io.tributary.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tributary.storage.internal.KafkaRecords;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.SimpleRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The log side of transactions (KIP-98): transactional batches open a producer's transaction in the partition, a
 * marker written by the leader ends it, the first unstable offset bounds read_committed readers, aborted transactions
 * are indexed per segment, and all of it survives restarts, truncation and follower replication.
 */
class TransactionLogTest {
    private static final LogConfig SMALL = new LogConfig(4096, 3_600_000, -1, -1, 1_048_588, 256, 4096);
    private static final int EPOCH = 0;

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
    void aTransactionIsUnstableFromItsFirstBatchUntilItsMarker() throws IOException {
        log = open("t-0");
        append(plain(2));
        long first = append(txn(7, 0, 3));
        append(plain(2));
        append(txn(7, 3, 2));
        assertThat(log.firstUnstableOffset()).isEqualTo(OptionalLong.of(first));

        long marker = log.appendTransactionMarker(7, (short) 0, 0, true, EPOCH).firstOffset();
        assertThat(marker).isEqualTo(log.logEndOffset() - 1);
        assertThat(log.firstUnstableOffset()).isEmpty();
        assertThat(log.abortedTransactions(0, log.logEndOffset())).as("a commit is not indexed").isEmpty();
        assertThat(log.producerState().entry(7).orElseThrow().currentTxnFirstOffset()).isEqualTo(-1);
    }

    @Test
    void anAbortIsIndexedAndTheOldestOngoingTransactionBoundsTheStableOffset() throws IOException {
        log = open("t-0");
        long first7 = append(txn(7, 0, 2));
        long first8 = append(txn(8, 0, 2));
        append(txn(7, 2, 2));
        assertThat(log.firstUnstableOffset()).hasValue(first7);

        long abort7 = log.appendTransactionMarker(7, (short) 0, 0, false, EPOCH).firstOffset();
        assertThat(log.firstUnstableOffset()).as("8 is still open").hasValue(first8);
        assertThat(log.abortedTransactions(0, log.logEndOffset()))
                .containsExactly(new AbortedTxn(7, first7, abort7, first8));
        assertThat(log.abortedTransactions(abort7 + 1, log.logEndOffset())).as("after its marker").isEmpty();
        assertThat(log.abortedTransactions(0, first7)).as("before its first batch").isEmpty();

        log.appendTransactionMarker(8, (short) 0, 0, true, EPOCH);
        assertThat(log.firstUnstableOffset()).isEmpty();
    }

    @Test
    void ongoingTransactionsAndAbortedOnesSurviveCleanAndUncleanRestarts() throws IOException {
        log = open("t-0");
        long first7 = append(txn(7, 0, 2));
        long abort7 = log.appendTransactionMarker(7, (short) 0, 0, false, EPOCH).firstOffset();
        for (int i = 0; i < 200; i++) {
            append(plain(5)); // several segments, so snapshots exist above the marker
        }
        long first8 = append(txn(8, 0, 2));
        List<AbortedTxn> aborted = log.abortedTransactions(0, log.logEndOffset());
        assertThat(aborted).extracting(AbortedTxn::lastOffset).containsExactly(abort7);
        assertThat(log.numberOfSegments()).isGreaterThan(2);

        Path crashed = TestBatches.copyDir(dir.resolve("t-0"), dir.resolve("crashed"));
        log.close();
        log = open("t-0");
        assertThat(log.firstUnstableOffset()).as("clean restart").hasValue(first8);
        assertThat(log.abortedTransactions(0, log.logEndOffset())).isEqualTo(aborted);
        log.close();

        // Unclean, without snapshots or the index file: both come back from the markers and batches
        TestBatches.deleteSnapshots(crashed);
        try (var files = Files.list(crashed)) {
            for (Path f : files.filter(f -> f.toString().endsWith(TransactionIndex.SUFFIX)).toList()) {
                Files.delete(f);
            }
        }
        log = PartitionLog.open(crashed, SMALL, clock);
        assertThat(log.firstUnstableOffset()).as("unclean restart").hasValue(first8);
        assertThat(log.abortedTransactions(0, log.logEndOffset())).extracting(AbortedTxn::producerId,
                AbortedTxn::firstOffset, AbortedTxn::lastOffset).containsExactly(
                        org.assertj.core.groups.Tuple.tuple(7L, first7, abort7));
    }

    @Test
    void aTruncationBelowAMarkerReopensItsTransactionAndDropsItsIndexEntry() throws IOException {
        log = open("t-0");
        long first = append(txn(7, 0, 2));
        long abort = log.appendTransactionMarker(7, (short) 0, 0, false, EPOCH).firstOffset();
        assertThat(log.firstUnstableOffset()).isEmpty();

        log.truncateTo(abort);
        assertThat(log.firstUnstableOffset()).hasValue(first);
        assertThat(log.abortedTransactions(0, Long.MAX_VALUE)).isEmpty();
        log.truncateTo(first);
        assertThat(log.firstUnstableOffset()).isEmpty();
    }

    @Test
    void aFollowerReplayingTheLeadersBatchesEndsWithTheSameTransactions() throws IOException {
        log = open("leader");
        long first = append(txn(7, 0, 2));
        append(txn(9, 0, 1));
        log.appendTransactionMarker(7, (short) 0, 0, false, EPOCH);
        ByteBuffer all = log.read(0, Integer.MAX_VALUE, Long.MAX_VALUE).records();

        try (PartitionLog follower = open("follower")) {
            follower.appendAsFollower(all.duplicate());
            assertThat(follower.firstUnstableOffset()).isEqualTo(log.firstUnstableOffset()).hasValue(first + 2);
            assertThat(follower.abortedTransactions(0, Long.MAX_VALUE))
                    .isEqualTo(log.abortedTransactions(0, Long.MAX_VALUE)).hasSize(1);
        }
    }

    @Test
    void clientsCannotProduceControlBatchesAndAFencedMarkerIsRefused() throws IOException {
        log = open("t-0");
        ByteBuffer marker = TxnMarkers.build(true, 7, (short) 0, 0, clock.millis());
        assertThatThrownBy(() -> log.append(marker, EPOCH)).isInstanceOfSatisfying(LogException.class,
                e -> assertThat(e.error()).isEqualTo(LogError.INVALID_RECORD));

        append(txn(7, 0, 1));
        long end = log.logEndOffset();
        append(MemoryRecords.withTransactionalRecords(Compression.NONE, 7, (short) 1, 0,
                new SimpleRecord(clock.millis(), "k".getBytes(), "v".getBytes())).buffer()); // epoch bumped
        assertThatThrownBy(() -> log.appendTransactionMarker(7, (short) 0, 0, false, EPOCH))
                .isInstanceOfSatisfying(LogException.class,
                        e -> assertThat(e.error()).isEqualTo(LogError.INVALID_PRODUCER_EPOCH));
        assertThat(log.logEndOffset()).isEqualTo(end + 1);
    }

    /**
     * The group coordinator writes a transactional offset commit as the leader, with the producer's id and epoch and
     * no sequence (Kafka's {@code RecordBatch.NO_SEQUENCE}): the log opens the producer's transaction without checking
     * sequences, any number of times, fences an older epoch, and the marker ends it.
     */
    @Test
    void aTransactionalBatchWithoutSequencesOpensATransactionAndAnOlderEpochIsFenced() throws IOException {
        log = open("t-0");
        ByteBuffer commit = KafkaRecords.transactionalBatchOf(List.of("k".getBytes()), List.of("v".getBytes()),
                clock.millis(), 7, (short) 3, KafkaRecords.NO_SEQUENCE);
        long first = append(commit);
        append(KafkaRecords.transactionalBatchOf(List.of("k".getBytes(), "l".getBytes()),
                List.of("w".getBytes(), "x".getBytes()), clock.millis(), 7, (short) 3, KafkaRecords.NO_SEQUENCE));
        assertThat(log.firstUnstableOffset()).hasValue(first);
        assertThatThrownBy(() -> append(KafkaRecords.transactionalBatchOf(List.of("k".getBytes()),
                List.of("v".getBytes()), clock.millis(), 7, (short) 2, KafkaRecords.NO_SEQUENCE)))
                .isInstanceOfSatisfying(LogException.class,
                        e -> assertThat(e.error()).isEqualTo(LogError.INVALID_PRODUCER_EPOCH));

        log.appendTransactionMarker(7, (short) 3, 0, true, EPOCH);
        assertThat(log.firstUnstableOffset()).isEmpty();
        List<KafkaRecords.Batch> batches = KafkaRecords.batches(log.read(0, 1 << 20, log.logEndOffset()).records());
        assertThat(batches).extracting(KafkaRecords.Batch::producerId).containsOnly(7L);
        assertThat(batches).extracting(KafkaRecords.Batch::transactional).containsOnly(true);
        assertThat(batches).extracting(KafkaRecords.Batch::control).containsExactly(false, false, true);
        assertThat(batches).extracting(KafkaRecords.Batch::markerType)
                .containsExactly(-1, -1, (int) TxnMarkers.COMMIT);
        assertThat(batches.get(1).records()).extracting(KafkaRecords.KeyValue::offset).containsExactly(1L, 2L);
        assertThat(batches.get(2).records()).isEmpty();
    }

    @Test
    void aProducerWithAnOngoingTransactionIsNotExpired() throws IOException {
        log = open("t-0");
        append(txn(7, 0, 1));
        append(MemoryRecords.withIdempotentRecords(Compression.NONE, 8, (short) 0, 0,
                new SimpleRecord(clock.millis(), "k".getBytes(), "v".getBytes())).buffer());
        clock.advance(10_000);
        assertThat(log.expireProducers(1_000)).isEqualTo(1);
        assertThat(log.producerState().entry(7)).isPresent();
        assertThat(log.producerState().entry(8)).isEmpty();
    }

    @Test
    void aControlBatchThatIsNotAMarkerStopsNeitherAFollowerNorARestart() throws IOException {
        log = open("t-0");
        ByteBuffer first = MemoryRecords.withIdempotentRecords(Compression.NONE, 5, (short) 0, 0,
                new SimpleRecord(clock.millis(), "k".getBytes(), "v".getBytes())).buffer();
        log.appendAsFollower(first);
        ByteBuffer odd = controlBatchOfType(9, 5, log.logEndOffset()); // not a marker: another control record
        log.appendAsFollower(odd);
        ByteBuffer second = MemoryRecords.withIdempotentRecords(Compression.NONE, 5, (short) 0, 1,
                new SimpleRecord(clock.millis(), "k".getBytes(), "v".getBytes())).buffer();
        second.putLong(0, log.logEndOffset());
        log.appendAsFollower(second);
        assertThat(log.producerState().entry(5).orElseThrow().lastSequence()).isEqualTo(1);
        assertThat(log.firstUnstableOffset()).isEmpty();

        log.close();
        TestBatches.deleteSnapshots(dir.resolve("t-0"));
        log = open("t-0"); // a full replay reads the odd batch
        assertThat(log.producerState().entry(5).orElseThrow().lastSequence()).isEqualTo(1);
        assertThat(log.logEndOffset()).isEqualTo(3);
    }

    @Test
    void aMarkerFromAnOlderCoordinatorIsFencedAcrossARestart() throws IOException {
        log = open("t-0");
        append(txn(7, 0, 1));
        log.appendTransactionMarker(7, (short) 0, 5, true, EPOCH);
        append(txn(7, 1, 1));
        log.close();
        log = open("t-0");
        long end = log.logEndOffset();
        assertThatThrownBy(() -> log.appendTransactionMarker(7, (short) 0, 4, false, EPOCH))
                .isInstanceOfSatisfying(LogException.class,
                        e -> assertThat(e.error()).isEqualTo(LogError.TRANSACTION_COORDINATOR_FENCED));
        assertThat(log.logEndOffset()).isEqualTo(end);
        log.appendTransactionMarker(7, (short) 0, 5, false, EPOCH);
        assertThat(log.firstUnstableOffset()).isEmpty();
    }

    @Test
    void aTransactionHoldsTheStableOffsetUntilTheHighWatermarkPassesItsMarker() throws IOException {
        log = open("t-0");
        long first = append(txn(7, 0, 2));
        long marker = log.appendTransactionMarker(7, (short) 0, 0, false, EPOCH).firstOffset();
        assertThat(log.firstUnstableOffset()).as("no longer open").isEmpty();
        assertThat(log.firstUnstableOffset(marker)).as("marker not replicated").hasValue(first);
        assertThat(log.firstUnstableOffset(marker + 1)).as("marker committed").isEmpty();
        assertThat(log.firstUnstableOffset(marker)).as("stays released").isEmpty();

        // The replica tells the log each high watermark move: what it passed is forgotten (the bound of the set)
        long first8 = append(txn(8, 0, 1));
        long marker8 = log.appendTransactionMarker(8, (short) 0, 0, true, EPOCH).firstOffset();
        assertThat(log.firstUnstableOffset(marker8)).hasValue(first8);
        log.onHighWatermark(marker8 + 1);
        assertThat(log.firstUnstableOffset(marker8)).isEmpty();
    }

    @Test
    void aTornOrZeroedTailOfTheAbortedTransactionIndexIsIgnored() throws IOException {
        log = open("t-0");
        append(txn(7, 0, 2));
        log.appendTransactionMarker(7, (short) 0, 0, false, EPOCH);
        List<AbortedTxn> aborted = log.abortedTransactions(0, Long.MAX_VALUE);
        log.close();
        Path index = dir.resolve("t-0").resolve(LogSegment.fileName(0, TransactionIndex.SUFFIX));
        Files.write(index, new byte[TransactionIndex.ENTRY_SIZE + 7], java.nio.file.StandardOpenOption.APPEND);
        log = open("t-0");
        assertThat(log.abortedTransactions(0, Long.MAX_VALUE)).isEqualTo(aborted).hasSize(1);
    }

    /** A transactional control batch of producer {@code producerId} whose record's key has control type {@code type}. */
    private ByteBuffer controlBatchOfType(int type, long producerId, long baseOffset) {
        ByteBuffer batch = TxnMarkers.build(true, producerId, (short) 0, 0, clock.millis());
        int keyAt = -1;
        for (int i = RecordBatchHeader.HEADER_SIZE; i + 4 <= batch.limit(); i++) {
            if (batch.getShort(i) == 0 && batch.getShort(i + 2) == TxnMarkers.COMMIT) {
                keyAt = i;
                break;
            }
        }
        assertThat(keyAt).isPositive();
        batch.putShort(keyAt + 2, (short) type);
        batch.putInt(RecordBatchHeader.CRC_OFFSET, RecordBatchHeader.computeCrc(batch, 0, batch.limit()));
        batch.putLong(RecordBatchHeader.BASE_OFFSET_OFFSET, baseOffset);
        return batch;
    }

    private PartitionLog open(String name) throws IOException {
        return PartitionLog.open(dir.resolve(name), SMALL, clock);
    }

    private long append(ByteBuffer batch) throws IOException {
        return log.append(batch, EPOCH).firstOffset();
    }

    private ByteBuffer plain(int count) {
        return TestBatches.batch(count, clock.millis());
    }

    private ByteBuffer txn(long producerId, int baseSequence, int count) {
        SimpleRecord[] records = TestBatches.records(count, clock.millis(), 10);
        return MemoryRecords.withTransactionalRecords(Compression.NONE, producerId, (short) 0, baseSequence, records)
                .buffer();
    }
}
