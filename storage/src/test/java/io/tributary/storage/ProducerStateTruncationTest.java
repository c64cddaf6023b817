package io.tributary.storage;

import static io.tributary.storage.TestBatches.batch;
import static io.tributary.storage.TestBatches.copyDir;
import static io.tributary.storage.TestBatches.idempotentBatch;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Random;

import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.MemoryRecords;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Idempotent-producer state after follower truncation (KIP-101): it must be what a replay of the remaining log
 * gives, as Kafka's {@code UnifiedLog.truncateTo} rebuilds it, not the old state minus the removed batches.
 */
class ProducerStateTruncationTest {
    static final long PID = 4242;
    static final short EPOCH = 3;

    @TempDir
    Path tmp;
    Path dir;
    TestBatches.MutableClock clock = new TestBatches.MutableClock(1_000_000);
    PartitionLog log;

    @BeforeEach
    void open() throws IOException {
        dir = tmp.resolve("p-0");
        log = PartitionLog.open(dir, TestBatches.SMALL, clock);
    }

    @AfterEach
    void close() throws IOException {
        log.close();
    }

    @Test
    void aProducerWhoseCachedBatchesWereAllTruncatedKeepsItsEarlierBatches() throws IOException {
        // Given P's batches seq 0-4 (offsets 0..4) and 5-9 (5..9) below X = 10, and seq 10-14 above X as five
        // one-record batches, so that every batch the state caches (the last five) is above X
        log.append(idempotentBatch(PID, EPOCH, 0, 5), 0);
        log.append(idempotentBatch(PID, EPOCH, 5, 5), 0);
        for (int seq = 10; seq < 15; seq++) {
            log.append(idempotentBatch(PID, EPOCH, seq, 1), 0);
        }
        assertThat(log.logEndOffset()).isEqualTo(15);

        // When the divergent tail is truncated and this replica later leads
        log.truncateTo(10);
        log.assignEpoch(2);

        // Then P's state is that of its batches below X
        ProducerStateManager.ProducerEntry entry = log.producerState().entry(PID).orElseThrow();
        assertThat(entry.producerEpoch()).isEqualTo(EPOCH);
        assertThat(entry.lastSequence()).isEqualTo(9);
        assertThat(entry.batches()).containsExactly(new ProducerStateManager.BatchMetadata(0, 4, 0, 4),
                new ProducerStateManager.BatchMetadata(5, 9, 5, 9));
        // a gap is refused, a retry of a batch still in the log is a duplicate, the next sequence is accepted
        assertRejected(idempotentBatch(PID, EPOCH, 12, 1), 2, LogError.OUT_OF_ORDER_SEQUENCE_NUMBER);
        LogAppendResult retry = log.append(idempotentBatch(PID, EPOCH, 5, 5), 2);
        assertThat(retry.duplicate()).isTrue();
        assertThat(retry.firstOffset()).isEqualTo(5);
        assertThat(retry.lastOffset()).isEqualTo(9);
        LogAppendResult next = log.append(idempotentBatch(PID, EPOCH, 10, 1), 2);
        assertThat(next.duplicate()).isFalse();
        assertThat(next.firstOffset()).isEqualTo(10);
    }

    @Test
    void aProducerGoesBackToItsOlderEpochWhenTheNewerEpochsBatchesAreTruncated() throws IOException {
        // Given P wrote seq 0-1 in epoch 3, then seq 0 in epoch 4 (which dropped the epoch 3 batches from the cache)
        log.append(idempotentBatch(PID, EPOCH, 0, 2), 0); // 0..1
        log.append(idempotentBatch(PID, (short) (EPOCH + 1), 0, 1), 0); // 2

        // When the epoch 4 batch is truncated
        log.truncateTo(2);

        // Then P is back at epoch 3, sequence 1
        ProducerStateManager.ProducerEntry entry = log.producerState().entry(PID).orElseThrow();
        assertThat(entry.producerEpoch()).isEqualTo(EPOCH);
        assertThat(entry.lastSequence()).isEqualTo(1);
        assertThat(log.append(idempotentBatch(PID, EPOCH, 0, 2), 0).duplicate()).isTrue();
        assertRejected(idempotentBatch(PID, EPOCH, 3, 1), 0, LogError.OUT_OF_ORDER_SEQUENCE_NUMBER);
    }

    @Test
    void aProducerWhoseBatchesWereAllTruncatedIsUnknown() throws IOException {
        // Given other records at 0..9 and all of P's batches above X = 10
        log.append(batch(10, 0), 0);
        for (int seq = 0; seq < 7; seq++) {
            log.append(idempotentBatch(PID, EPOCH, seq, 1), 0);
        }

        // When truncating to X
        log.truncateTo(10);

        // Then P is a new producer, accepted at any sequence (as in Kafka)
        assertThat(log.producerState().entry(PID)).isEmpty();
        LogAppendResult r = log.append(idempotentBatch(PID, EPOCH, 7, 1), 0);
        assertThat(r.duplicate()).isFalse();
        assertThat(r.firstOffset()).isEqualTo(10);
    }

    @Test
    void truncationDoesNotBringBackAnExpiredProducer() throws IOException {
        // Given P (batch timestamps around 1000) with batches below and above X = 2, expired at clock 1_000_000
        log.append(idempotentBatch(PID, EPOCH, 0, 2), 0);
        log.append(idempotentBatch(PID, EPOCH, 2, 2), 0);
        assertThat(log.expireProducers(60_000)).isEqualTo(1);

        // When truncating to X
        log.truncateTo(2);

        // Then P stays forgotten: truncation does not undo expiration
        assertThat(log.producerState().entry(PID)).isEmpty();
    }

    @Test
    void truncationLeavesOtherProducersAsTheyAre() throws IOException {
        long other = PID + 1;
        log.append(idempotentBatch(other, EPOCH, 0, 2), 0); // 0..1
        log.append(idempotentBatch(PID, EPOCH, 0, 2), 0); // 2..3
        ProducerStateManager.ProducerEntry before = log.producerState().entry(other).orElseThrow();

        log.truncateTo(2);

        assertThat(log.producerState().entry(other)).contains(before);
        assertThat(log.producerState().entry(PID)).isEmpty();
    }

    /**
     * Oracle: after each of several truncations of a log with several producers, epoch bumps, plain batches and
     * many segments, the producer state equals that of a fresh open of a copy of the directory (a full replay).
     */
    @Test
    void stateAfterTruncationEqualsAReplayOfTheRemainingLog() throws IOException {
        for (long seed = 1; seed <= 20; seed++) {
            Random random = new Random(seed);
            Path seedDir = tmp.resolve("seed-" + seed);
            try (PartitionLog seeded = PartitionLog.open(seedDir, TestBatches.SMALL, clock)) {
                int maxSegments = 0;
                for (int round = 0; round < 4; round++) {
                    appendRandomBatches(seeded, random, 40 + random.nextInt(40));
                    maxSegments = Math.max(maxSegments, seeded.numberOfSegments());
                    long target = seeded.logStartOffset()
                            + (long) (random.nextDouble() * (seeded.logEndOffset() - seeded.logStartOffset()));
                    seeded.truncateTo(target);

                    Path copy = copyDir(seedDir, tmp.resolve("seed-" + seed + "-round-" + round));
                    try (PartitionLog replayed = PartitionLog.open(copy, TestBatches.SMALL, clock)) {
                        assertThat(seeded.producerState().entries())
                                .as("seed %d round %d, truncated to %d", seed, round, target)
                                .isEqualTo(replayed.producerState().entries());
                    }
                }
                assertThat(maxSegments).as("seed %d spans several segments", seed).isGreaterThan(1);
            }
        }
    }

    /** Appends valid batches of three producers (sometimes bumping the epoch) and plain batches. */
    private void appendRandomBatches(PartitionLog target, Random random, int count) throws IOException {
        for (int i = 0; i < count; i++) {
            int which = random.nextInt(4);
            long timestamp = 1000 + random.nextInt(10_000);
            int records = 1 + random.nextInt(3);
            if (which == 3) {
                target.append(MemoryRecords.withRecords(Compression.NONE,
                        TestBatches.records(records, timestamp, 10)).buffer(), 0);
                continue;
            }
            long producerId = PID + which;
            Optional<ProducerStateManager.ProducerEntry> entry = target.producerState().entry(producerId);
            short epoch = entry.map(ProducerStateManager.ProducerEntry::producerEpoch).orElse((short) 0);
            int sequence = entry.map(e -> e.lastSequence() + 1).orElse(0);
            if (random.nextInt(10) == 0) {
                epoch++;
                sequence = 0;
            }
            target.append(MemoryRecords.withIdempotentRecords(Compression.NONE, producerId, epoch, sequence,
                    TestBatches.records(records, timestamp, 10)).buffer(), 0);
        }
    }

    private void assertRejected(ByteBuffer append, int leaderEpoch, LogError expected) throws IOException {
        long endBefore = log.logEndOffset();
        LogException e = catchThrowableOfType(LogException.class, () -> log.append(append, leaderEpoch));
        assertThat(e).as("append should fail with %s", expected).isNotNull();
        assertThat(e.error()).isEqualTo(expected);
        assertThat(log.logEndOffset()).isEqualTo(endBefore);
    }
}
