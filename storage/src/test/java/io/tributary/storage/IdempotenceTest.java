package io.tributary.storage;

import static io.tributary.storage.TestBatches.batch;
import static io.tributary.storage.TestBatches.concat;
import static io.tributary.storage.TestBatches.copyDir;
import static io.tributary.storage.TestBatches.idempotentBatch;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdempotenceTest {
    static final long PID = 4242;
    static final long OTHER = 4243;
    static final long EXPIRATION_MS = 60_000;

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
    void aRetriedBatchIsADuplicateWithTheOriginalOffsets() throws IOException {
        log.append(batch(2, 0), 0); // someone else's records at 0, 1
        LogAppendResult first = log.append(idempotentBatch(PID, (short) 0, 0, 3), 0); // 2..4
        log.append(idempotentBatch(PID, (short) 0, 3, 2), 0); // 5..6
        long sizeBefore = log.sizeInBytes();

        LogAppendResult retry = log.append(idempotentBatch(PID, (short) 0, 0, 3), 0);

        assertThat(retry.duplicate()).isTrue();
        assertThat(retry.firstOffset()).isEqualTo(first.firstOffset()).isEqualTo(2);
        assertThat(retry.lastOffset()).isEqualTo(first.lastOffset()).isEqualTo(4);
        assertThat(log.sizeInBytes()).isEqualTo(sizeBefore);
        assertThat(log.logEndOffset()).isEqualTo(7);
    }

    @Test
    void onlyTheLastFiveBatchesAreRememberedForDuplicates() throws IOException {
        for (int seq = 0; seq < 6; seq++) {
            log.append(idempotentBatch(PID, (short) 0, seq, 1), 0);
        }

        // seq 1 is still cached; seq 0 fell out and is now simply out of order
        assertThat(log.append(idempotentBatch(PID, (short) 0, 1, 1), 0).duplicate()).isTrue();
        assertRejected(idempotentBatch(PID, (short) 0, 0, 1), LogError.OUT_OF_ORDER_SEQUENCE_NUMBER);
    }

    @Test
    void rejectsAGapInSequences() throws IOException {
        log.append(idempotentBatch(PID, (short) 0, 0, 3), 0);

        assertRejected(idempotentBatch(PID, (short) 0, 4, 1), LogError.OUT_OF_ORDER_SEQUENCE_NUMBER);
        assertThat(log.append(idempotentBatch(PID, (short) 0, 3, 1), 0).duplicate()).isFalse();
    }

    @Test
    void fencesAnOlderEpochAndRequiresSequenceZeroForANewOne() throws IOException {
        log.append(idempotentBatch(PID, (short) 3, 0, 2), 0);

        assertRejected(idempotentBatch(PID, (short) 2, 2, 1), LogError.INVALID_PRODUCER_EPOCH);
        assertRejected(idempotentBatch(PID, (short) 4, 5, 1), LogError.OUT_OF_ORDER_SEQUENCE_NUMBER);
        log.append(idempotentBatch(PID, (short) 4, 0, 1), 0);
        assertRejected(idempotentBatch(PID, (short) 3, 2, 1), LogError.INVALID_PRODUCER_EPOCH);
        assertThat(log.producerState().entry(PID).orElseThrow().producerEpoch()).isEqualTo((short) 4);
    }

    @Test
    void anUnknownProducerIsAcceptedAtAnySequence() throws IOException {
        LogAppendResult r = log.append(idempotentBatch(PID, (short) 0, 17, 2), 0);

        assertThat(r.duplicate()).isFalse();
        assertThat(log.producerState().entry(PID).orElseThrow().lastSequence()).isEqualTo(18);
    }

    @Test
    void sequencesWrapToZeroAfterIntegerMaxValue() throws IOException {
        log.append(idempotentBatch(PID, (short) 0, Integer.MAX_VALUE - 1, 2), 0);

        assertThat(log.append(idempotentBatch(PID, (short) 0, 0, 1), 0).duplicate()).isFalse();
    }

    @Test
    void batchesOfOneAppendAreCheckedInOrderAndAllOrNothing() throws IOException {
        LogAppendResult ok = log.append(concat(idempotentBatch(PID, (short) 0, 0, 2),
                idempotentBatch(PID, (short) 0, 2, 2)), 0);
        assertThat(ok.lastOffset()).isEqualTo(3);

        // the first batch is in sequence, the second is not: nothing is appended, state unchanged
        assertRejected(concat(idempotentBatch(PID, (short) 0, 4, 1), idempotentBatch(PID, (short) 0, 9, 1)),
                LogError.OUT_OF_ORDER_SEQUENCE_NUMBER);
        assertThat(log.producerState().entry(PID).orElseThrow().lastSequence()).isEqualTo(3);
        assertThat(log.append(idempotentBatch(PID, (short) 0, 4, 1), 0).firstOffset()).isEqualTo(4);
    }

    @Test
    void stateIsRebuiltOnReopenSoARetryIsStillADuplicate() throws IOException {
        log.append(idempotentBatch(PID, (short) 1, 0, 3), 0);
        for (int i = 0; i < 40; i++) {
            log.append(batch(5, i), 0); // roll a few segments
        }
        LogAppendResult original = log.append(idempotentBatch(PID, (short) 1, 3, 2), 0);
        assertThat(log.numberOfSegments()).isGreaterThan(1);

        // after a clean close
        log.close();
        log = PartitionLog.open(dir, TestBatches.SMALL, clock);
        LogAppendResult retry = log.append(idempotentBatch(PID, (short) 1, 3, 2), 0);
        assertThat(retry.duplicate()).isTrue();
        assertThat(retry.firstOffset()).isEqualTo(original.firstOffset());
        assertRejected(idempotentBatch(PID, (short) 0, 5, 1), LogError.INVALID_PRODUCER_EPOCH);

        // and after an unclean stop (a copy of the open directory)
        log.append(idempotentBatch(PID, (short) 1, 5, 1), 0);
        try (PartitionLog crashed = PartitionLog.open(copyDir(dir, tmp.resolve("crash")), TestBatches.SMALL,
                clock)) {
            assertThat(crashed.append(idempotentBatch(PID, (short) 1, 5, 1), 0).duplicate()).isTrue();
            assertThat(crashed.append(idempotentBatch(PID, (short) 1, 6, 1), 0).duplicate()).isFalse();
        }
    }

    @Test
    void truncationForgetsTheRemovedBatches() throws IOException {
        log.append(idempotentBatch(PID, (short) 0, 0, 2), 0); // 0..1
        log.append(idempotentBatch(PID, (short) 0, 2, 2), 0); // 2..3

        log.truncateTo(2);

        assertThat(log.producerState().entry(PID).orElseThrow().lastSequence()).isEqualTo(1);
        LogAppendResult again = log.append(idempotentBatch(PID, (short) 0, 2, 2), 0);
        assertThat(again.duplicate()).isFalse();
        assertThat(again.firstOffset()).isEqualTo(2);

        log.truncateTo(0);
        assertThat(log.producerState().entry(PID)).isEmpty();
    }

    // ---------------------------------------------------------------- expiration (producer.id.expiration.ms)

    @Test
    void anIdleProducerIsForgottenAndItsNextBatchIsAcceptedAtAnySequence() throws IOException {
        // Given an idle producer whose last batch is exactly EXPIRATION_MS old, and one that wrote just now
        long now = clock.millis();
        log.append(idempotentBatch(PID, (short) 0, 0, 3, now - EXPIRATION_MS - 2), 0); // max timestamp now - EXP
        log.append(idempotentBatch(OTHER, (short) 0, 0, 3, now - 2), 0);
        assertRejected(idempotentBatch(PID, (short) 0, 7, 1, now), LogError.OUT_OF_ORDER_SEQUENCE_NUMBER);

        // When producers idle for EXPIRATION_MS are expired
        int expired = log.expireProducers(EXPIRATION_MS);

        // Then the idle one is gone (Kafka expires at >=, not >) and the active one stays
        assertThat(expired).isEqualTo(1);
        assertThat(log.producerState().entry(PID)).isEmpty();
        assertThat(log.producerState().entry(OTHER).orElseThrow().lastSequence()).isEqualTo(2);
        assertThat(log.producerState().producerCount()).isEqualTo(1);
        // the forgotten producer is unknown: a batch at sequence 7 is accepted, as Kafka accepts an unknown producer
        assertThat(log.append(idempotentBatch(PID, (short) 0, 7, 1, now), 0).duplicate()).isFalse();
        assertThat(log.producerState().entry(PID).orElseThrow().lastSequence()).isEqualTo(7);
        // the active one still has its sequence checked
        assertRejected(idempotentBatch(OTHER, (short) 0, 7, 1, now), LogError.OUT_OF_ORDER_SEQUENCE_NUMBER);
    }

    @Test
    void aProducerOneMillisecondShortOfTheExpirationStays() throws IOException {
        log.append(idempotentBatch(PID, (short) 0, 0, 1, clock.millis() - EXPIRATION_MS + 1), 0);

        assertThat(log.expireProducers(EXPIRATION_MS)).isZero();
        clock.advance(1);
        assertThat(log.expireProducers(EXPIRATION_MS)).isEqualTo(1);
    }

    private void assertRejected(ByteBuffer append, LogError expected) throws IOException {
        long endBefore = log.logEndOffset();
        LogException e = catchThrowableOfType(LogException.class, () -> log.append(append, 0));
        assertThat(e).as("append should fail with %s", expected).isNotNull();
        assertThat(e.error()).isEqualTo(expected);
        assertThat(log.logEndOffset()).isEqualTo(endBefore);
    }
}
