package io.tributary.node.txn;

import static io.tributary.node.txn.TxnTestSupport.OFFSETS;
import static io.tributary.node.txn.TxnTestSupport.T0;
import static io.tributary.node.txn.TxnTestSupport.T1;
import static io.tributary.node.txn.TxnTestSupport.TIMEOUT_MS;
import static io.tributary.node.txn.TxnTestSupport.TXN;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tributary.node.txn.TransactionRecord.MetadataRecord;
import io.tributary.node.txn.TransactionRecord.Tombstone;
import java.util.List;
import java.util.Set;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.requests.TransactionResult;
import org.junit.jupiter.api.Test;

class TransactionCoordinatorTest {

    private static final short NO_EPOCH = RecordBatch.NO_PRODUCER_EPOCH;

    @Test
    void newTransactionalIdGetsANewProducerIdAtEpochZeroOnceTheRecordIsDurable() {
        // Given a fresh coordinator
        TxnTestSupport s = new TxnTestSupport();

        // When a producer initializes
        TransactionDecision<InitProducerIdResult> d = s.c.initProducerId(TXN, TIMEOUT_MS, -1, NO_EPOCH, 5);

        // Then nothing changes until the record is replayed; then the id is Empty at epoch 0
        assertThat(d.records()).hasSize(1);
        assertThat(s.c.describe(TXN)).isEmpty();
        assertThat(s.durable(d)).isEqualTo(new InitProducerIdResult(Errors.NONE, 1000, (short) 0));
        assertThat(s.metadata()).isEqualTo(new TransactionMetadata(TXN, 1000, -1, (short) 0, NO_EPOCH, TIMEOUT_MS,
                TransactionState.EMPTY, Set.of(), -1, 5));
    }

    @Test
    void reinitBumpsTheEpochAndFencesTheOldProducer() {
        TxnTestSupport s = new TxnTestSupport();
        InitProducerIdResult old = s.init(0);

        InitProducerIdResult fresh = s.init(1);

        assertThat(fresh.producerId()).isEqualTo(old.producerId());
        assertThat(fresh.producerEpoch()).isEqualTo((short) 1);
        assertThat(s.add(old, 2, T0)).isEqualTo(Errors.PRODUCER_FENCED);
        assertThat(s.end(old, TransactionResult.COMMIT, 2)).isEqualTo(Errors.PRODUCER_FENCED);
        assertThat(s.add(fresh, 2, T0)).isEqualTo(Errors.NONE);
        assertThat(s.end(old, TransactionResult.ABORT, 3)).isEqualTo(Errors.PRODUCER_FENCED);
        assertThat(s.state()).isEqualTo(TransactionState.ONGOING);
    }

    @Test
    void invalidRequestsAreRefusedWithKafkasErrors() {
        TxnTestSupport s = new TxnTestSupport(TransactionCoordinatorConfig.defaults()
                .withTransactionMaxTimeoutMs(10_000));
        assertThat(s.c.initProducerId(TXN, 10_001, -1, NO_EPOCH, 0).response().error())
                .isEqualTo(Errors.INVALID_TRANSACTION_TIMEOUT);
        assertThat(s.c.initProducerId(TXN, 0, -1, NO_EPOCH, 0).response().error())
                .isEqualTo(Errors.INVALID_TRANSACTION_TIMEOUT);
        assertThat(s.c.initProducerId("", 1000, -1, NO_EPOCH, 0).response().error())
                .isEqualTo(Errors.INVALID_REQUEST);
        assertThat(s.c.initProducerId(TXN, 1000, 5, NO_EPOCH, 0).response().error())
                .isEqualTo(Errors.INVALID_REQUEST);
        assertThat(s.c.initProducerId(TXN, 1000, -1, (short) 3, 0).response().error())
                .isEqualTo(Errors.INVALID_REQUEST);
        assertThat(s.c.addPartitionsToTxn(TXN, 1000, (short) 0, List.of(T0), 0).response())
                .isEqualTo(Errors.INVALID_PRODUCER_ID_MAPPING);
        assertThat(s.c.endTxn(TXN, 1000, (short) 0, TransactionResult.COMMIT, 0).response())
                .isEqualTo(Errors.INVALID_PRODUCER_ID_MAPPING);
        assertThat(s.c.addPartitionsToTxn("", 1000, (short) 0, List.of(T0), 0).response())
                .isEqualTo(Errors.INVALID_REQUEST);
        InitProducerIdResult p = s.durable(s.c.initProducerId(TXN, 10_000, -1, NO_EPOCH, 0));
        assertThat(s.c.addPartitionsToTxn(TXN, p.producerId() + 1, p.producerEpoch(), List.of(T0), 0).response())
                .isEqualTo(Errors.INVALID_PRODUCER_ID_MAPPING);
        assertThat(s.log).hasSize(1);
    }

    @Test
    void aSecondRequestWhileARecordIsInFlightAnswersConcurrentTransactionsUntilReplayOrFailure() {
        TxnTestSupport s = new TxnTestSupport();
        InitProducerIdResult p = s.init(0);
        TransactionDecision<Errors> add = s.c.addPartitionsToTxn(TXN, p.producerId(), p.producerEpoch(),
                List.of(T0), 1);

        assertThat(s.c.addPartitionsToTxn(TXN, p.producerId(), p.producerEpoch(), List.of(T1), 1).response())
                .isEqualTo(Errors.CONCURRENT_TRANSACTIONS);
        assertThat(s.c.initProducerId(TXN, TIMEOUT_MS, -1, NO_EPOCH, 1).response().error())
                .isEqualTo(Errors.CONCURRENT_TRANSACTIONS);
        assertThat(s.c.endTxn(TXN, p.producerId(), p.producerEpoch(), TransactionResult.ABORT, 1).response())
                .isEqualTo(Errors.CONCURRENT_TRANSACTIONS);

        // When the append fails, the id accepts requests again and its state never changed
        s.c.appendFailed(add.records().get(0));
        assertThat(s.state()).isEqualTo(TransactionState.EMPTY);
        assertThat(s.add(p, 2, T1)).isEqualTo(Errors.NONE);
        assertThat(s.metadata().partitions()).containsExactly(T1);
    }

    @Test
    void initOnAnOngoingTransactionAbortsItWithABumpedEpochBeforeTheRetrySucceeds() {
        TxnTestSupport s = new TxnTestSupport();
        InitProducerIdResult zombie = s.init(0);
        s.add(zombie, 10, T0, T1);

        // When a new instance initializes
        InitProducerIdResult first = s.init(20);

        // Then the Ongoing transaction is aborted with epoch 1 (fencing the zombie), the caller must retry
        assertThat(first.error()).isEqualTo(Errors.CONCURRENT_TRANSACTIONS);
        assertThat(s.state()).isEqualTo(TransactionState.PREPARE_ABORT);
        assertThat(s.metadata().producerEpoch()).isEqualTo((short) 1);
        assertThat(s.init(21).error()).isEqualTo(Errors.CONCURRENT_TRANSACTIONS);
        assertThat(s.end(zombie, TransactionResult.COMMIT, 21)).isEqualTo(Errors.PRODUCER_FENCED);
        List<TransactionMarkers> markers = s.writeMarkers(22);
        assertThat(markers).containsExactly(new TransactionMarkers(TXN, zombie.producerId(), (short) 1,
                TransactionResult.ABORT, 0, List.of(T0, T1)));
        assertThat(s.state()).isEqualTo(TransactionState.COMPLETE_ABORT);

        InitProducerIdResult retry = s.init(23);
        assertThat(retry).isEqualTo(new InitProducerIdResult(Errors.NONE, zombie.producerId(), (short) 2));
        assertThat(s.add(zombie, 24, T0)).isEqualTo(Errors.PRODUCER_FENCED);
    }

    @Test
    void commitWritesPrepareThenMarkersThenCompleteAndRetriesAnswerNone() {
        TxnTestSupport s = new TxnTestSupport();
        InitProducerIdResult p = s.init(0);
        assertThat(s.add(p, 10, T1)).isEqualTo(Errors.NONE);
        assertThat(s.metadata().txnStartTimestampMs()).isEqualTo(10);
        int records = s.log.size();
        assertThat(s.add(p, 11, T1)).isEqualTo(Errors.NONE);
        assertThat(s.log).as("already in the transaction: answered without a record").hasSize(records);
        assertThat(s.durable(s.c.addOffsetsToTxn(TXN, p.producerId(), p.producerEpoch(), OFFSETS, 12)))
                .isEqualTo(Errors.NONE);
        assertThat(s.metadata().txnStartTimestampMs()).as("the transaction's clock started at its first add")
                .isEqualTo(10);

        TransactionDecision<Errors> end = s.c.endTxn(TXN, p.producerId(), p.producerEpoch(),
                TransactionResult.COMMIT, 13);
        assertThat(s.c.takeMarkers()).as("no markers before the Prepare record is durable").isEmpty();
        assertThat(s.durable(end)).isEqualTo(Errors.NONE);
        assertThat(s.state()).isEqualTo(TransactionState.PREPARE_COMMIT);

        // While markers are written, requests wait
        assertThat(s.end(p, TransactionResult.COMMIT, 14)).isEqualTo(Errors.CONCURRENT_TRANSACTIONS);
        assertThat(s.end(p, TransactionResult.ABORT, 14)).isEqualTo(Errors.CONCURRENT_TRANSACTIONS);
        assertThat(s.add(p, 14, T0)).isEqualTo(Errors.CONCURRENT_TRANSACTIONS);
        assertThat(s.init(14).error()).isEqualTo(Errors.CONCURRENT_TRANSACTIONS);

        List<TransactionMarkers> markers = s.writeMarkers(15);
        assertThat(markers).containsExactly(new TransactionMarkers(TXN, p.producerId(), p.producerEpoch(),
                TransactionResult.COMMIT, 0, List.of(OFFSETS, T1)));
        assertThat(s.metadata()).extracting(TransactionMetadata::state, TransactionMetadata::partitions)
                .containsExactly(TransactionState.COMPLETE_COMMIT, Set.of());
        assertThat(s.c.markersWritten(TXN, p.producerId(), p.producerEpoch(), 16)).as("a duplicate report").isEmpty();

        assertThat(s.end(p, TransactionResult.COMMIT, 17)).isEqualTo(Errors.NONE);
        assertThat(s.end(p, TransactionResult.ABORT, 17)).isEqualTo(Errors.INVALID_TXN_STATE);
        assertThat(s.add(p, 18, T0)).isEqualTo(Errors.NONE);
        assertThat(s.metadata().txnStartTimestampMs()).as("a new transaction").isEqualTo(18);
    }

    @Test
    void abortCompletesAndMismatchedEndsAnswerInvalidTxnState() {
        TxnTestSupport s = new TxnTestSupport();
        InitProducerIdResult p = s.init(0);
        assertThat(s.end(p, TransactionResult.COMMIT, 1)).as("nothing to end").isEqualTo(Errors.INVALID_TXN_STATE);
        s.add(p, 2, T0);
        assertThat(s.end(p, TransactionResult.ABORT, 3)).isEqualTo(Errors.NONE);
        assertThat(s.writeMarkers(4)).extracting(TransactionMarkers::result).containsExactly(TransactionResult.ABORT);
        assertThat(s.state()).isEqualTo(TransactionState.COMPLETE_ABORT);
        assertThat(s.end(p, TransactionResult.ABORT, 5)).isEqualTo(Errors.NONE);
        assertThat(s.end(p, TransactionResult.COMMIT, 5)).isEqualTo(Errors.INVALID_TXN_STATE);
        assertThat(s.init(6)).extracting(InitProducerIdResult::producerEpoch).isEqualTo((short) 1);
    }

    @Test
    void anEmptyTransactionCompletesAsSoonAsItsNoMarkersAreReported() {
        TxnTestSupport s = new TxnTestSupport();
        InitProducerIdResult p = s.init(0);
        assertThat(s.add(p, 1)).isEqualTo(Errors.NONE);
        assertThat(s.end(p, TransactionResult.COMMIT, 2)).isEqualTo(Errors.NONE);
        assertThat(s.writeMarkers(3)).singleElement().extracting(TransactionMarkers::partitions)
                .isEqualTo(List.of());
        assertThat(s.state()).isEqualTo(TransactionState.COMPLETE_COMMIT);
    }

    @Test
    void anExhaustedEpochRotatesToANewProducerId() {
        // Given an idle id whose epoch is exhausted (Short.MAX_VALUE - 1)
        short exhausted = Short.MAX_VALUE - 1;
        TxnTestSupport s = new TxnTestSupport(TransactionCoordinatorConfig.defaults(), new TxnTestSupport.Ids(), 0,
                List.of(new MetadataRecord(new TransactionMetadata(TXN, 7, -1, exhausted, NO_EPOCH, TIMEOUT_MS,
                        TransactionState.COMPLETE_COMMIT, Set.of(), 0, 0))));

        // When a producer initializes, it gets a new producer id at epoch 0
        InitProducerIdResult p = s.init(1);
        assertThat(p).isEqualTo(new InitProducerIdResult(Errors.NONE, 1000, (short) 0));
        assertThat(s.metadata().previousProducerId()).isEqualTo(7);
        assertThat(s.metadata().lastProducerEpoch()).isEqualTo(NO_EPOCH);
        assertThat(s.init(2)).isEqualTo(new InitProducerIdResult(Errors.NONE, 1000, (short) 1));
    }

    @Test
    void kip360RecoveryBumpsTheHeldEpochAndARetryGetsTheSameAnswerEvenAfterFailOver() {
        TxnTestSupport s = new TxnTestSupport();
        InitProducerIdResult p = s.init(0);
        s.add(p, 1, T0);
        s.end(p, TransactionResult.ABORT, 2);
        s.writeMarkers(3);

        InitProducerIdResult bumped = s.init(p.producerId(), p.producerEpoch(), 4);
        assertThat(bumped).isEqualTo(new InitProducerIdResult(Errors.NONE, p.producerId(), (short) 1));
        assertThat(s.metadata().lastProducerEpoch()).isEqualTo((short) 0);

        // The answer was lost: the retry gets it again, also from a successor coordinator
        assertThat(s.init(p.producerId(), p.producerEpoch(), 5)).isEqualTo(bumped);
        TxnTestSupport successor = s.failOver();
        assertThat(successor.init(p.producerId(), p.producerEpoch(), 6)).isEqualTo(bumped);

        // A producer holding neither epoch, or another producer id, is fenced
        assertThat(successor.init(p.producerId(), (short) 5, 7).error()).isEqualTo(Errors.PRODUCER_FENCED);
        assertThat(successor.init(4242, (short) 0, 7).error()).isEqualTo(Errors.PRODUCER_FENCED);

        // A new instance (no expected epoch) resets lastProducerEpoch: the old retry is now fenced
        successor.init(8);
        assertThat(successor.init(p.producerId(), p.producerEpoch(), 9).error()).isEqualTo(Errors.PRODUCER_FENCED);
    }

    @Test
    void kip360RetryOfARotationGetsTheNewProducerIdAgain() {
        short exhausted = Short.MAX_VALUE - 1;
        TxnTestSupport s = new TxnTestSupport(TransactionCoordinatorConfig.defaults(), new TxnTestSupport.Ids(), 0,
                List.of(new MetadataRecord(new TransactionMetadata(TXN, 7, -1, exhausted, NO_EPOCH, TIMEOUT_MS,
                        TransactionState.EMPTY, Set.of(), -1, 0))));

        InitProducerIdResult rotated = s.init(7, exhausted, 1);
        assertThat(rotated).isEqualTo(new InitProducerIdResult(Errors.NONE, 1000, (short) 0));
        assertThat(s.metadata().lastProducerEpoch()).isEqualTo(exhausted);
        assertThat(s.init(7, exhausted, 2)).isEqualTo(rotated);
        assertThat(s.init(7, (short) 3, 2).error()).as("an old id with a non-exhausted epoch")
                .isEqualTo(Errors.PRODUCER_FENCED);
    }

    @Test
    void aFencedEpochThatOverflowsRotatesOnTheRetry() {
        // Given a producer at the last epoch a client may hold, in an Ongoing transaction
        short last = Short.MAX_VALUE - 1;
        TxnTestSupport s = new TxnTestSupport(TransactionCoordinatorConfig.defaults(), new TxnTestSupport.Ids(), 0,
                List.of(new MetadataRecord(new TransactionMetadata(TXN, 7, 7, last, NO_EPOCH, TIMEOUT_MS,
                        TransactionState.ONGOING, Set.of(T0), 0, 0))));

        // When a new instance initializes: fenced at Short.MAX_VALUE, then a new producer id
        assertThat(s.init(1).error()).isEqualTo(Errors.CONCURRENT_TRANSACTIONS);
        assertThat(s.metadata().producerEpoch()).isEqualTo(Short.MAX_VALUE);
        s.writeMarkers(2);
        assertThat(s.init(3)).isEqualTo(new InitProducerIdResult(Errors.NONE, 1000, (short) 0));
    }

    @Test
    void noProducerIdAvailableAnswersLoadInProgress() {
        TxnTestSupport s = new TxnTestSupport();
        s.ids.exhausted = true;
        assertThat(s.init(0).error()).isEqualTo(Errors.COORDINATOR_LOAD_IN_PROGRESS);
        assertThat(s.c.hasPendingTransition(TXN)).isFalse();
        s.ids.exhausted = false;
        assertThat(s.init(1).error()).isEqualTo(Errors.NONE);
    }

    @Test
    void aTimedOutTransactionIsAbortedWithABumpedEpochOnTheNextCheck() {
        TxnTestSupport s = new TxnTestSupport(TransactionCoordinatorConfig.defaults().withCleanupIntervals(1_000,
                3_600_000));
        InitProducerIdResult p = s.init(0);
        s.add(p, 100, T0);
        assertThat(s.c.onTick(100 + TIMEOUT_MS)).as("not older than its timeout yet").isEmpty();
        assertThat(s.c.onTick(100 + TIMEOUT_MS + 500)).as("checked at most once a second").isEmpty();

        List<TransactionRecord> records = s.c.onTick(100 + TIMEOUT_MS + 1_000);
        assertThat(records).singleElement().isInstanceOfSatisfying(MetadataRecord.class, r -> {
            assertThat(r.metadata().state()).isEqualTo(TransactionState.PREPARE_ABORT);
            assertThat(r.metadata().producerEpoch()).isEqualTo((short) 1);
        });
        assertThat(s.c.onTick(200 + TIMEOUT_MS + 2_000)).as("already being aborted").isEmpty();
        s.durable(records);
        assertThat(s.writeMarkers(70_000)).singleElement().extracting(TransactionMarkers::producerEpoch)
                .isEqualTo((short) 1);
        assertThat(s.end(p, TransactionResult.COMMIT, 70_001)).isEqualTo(Errors.PRODUCER_FENCED);
        assertThat(s.add(p, 70_001, T0)).isEqualTo(Errors.PRODUCER_FENCED);
        assertThat(s.init(70_002).producerEpoch()).isEqualTo((short) 2);
    }

    @Test
    void idleTransactionalIdsExpireWithATombstoneAndLeaveRoomForNewOnes() {
        TxnTestSupport s = new TxnTestSupport(TransactionCoordinatorConfig.defaults()
                .withTransactionalIdExpirationMs(10_000).withCleanupIntervals(0, 0).withLimits(2, 10));
        s.durable(s.c.initProducerId("a", TIMEOUT_MS, -1, NO_EPOCH, 0));
        InitProducerIdResult b = s.durable(s.c.initProducerId("b", TIMEOUT_MS, -1, NO_EPOCH, 0));
        s.durable(s.c.addPartitionsToTxn("b", b.producerId(), b.producerEpoch(), List.of(T0), 0));
        assertThat(s.c.initProducerId("c", TIMEOUT_MS, -1, NO_EPOCH, 0).response().error())
                .as("bounded ids").isEqualTo(Errors.POLICY_VIOLATION);

        assertThat(s.c.onTick(9_999)).isEmpty();
        List<TransactionRecord> records = s.c.onTick(10_000);
        assertThat(records).as("only the idle id; the Ongoing one is never expired")
                .containsExactly(new Tombstone("a"));
        assertThat(s.c.initProducerId("a", TIMEOUT_MS, -1, NO_EPOCH, 10_000).response().error())
                .isEqualTo(Errors.CONCURRENT_TRANSACTIONS);
        s.durable(records);
        assertThat(s.c.describe("a")).isEmpty();
        assertThat(s.durable(s.c.initProducerId("c", TIMEOUT_MS, -1, NO_EPOCH, 10_001)).error())
                .isEqualTo(Errors.NONE);
        assertThat(s.failOver().c.snapshot()).isEqualTo(s.c.snapshot()).containsOnlyKeys("b", "c");
    }

    @Test
    void partitionsPerTransactionAreBounded() {
        TxnTestSupport s = new TxnTestSupport(TransactionCoordinatorConfig.defaults().withLimits(10, 2));
        InitProducerIdResult p = s.init(0);
        assertThat(s.add(p, 1, T0, T1)).isEqualTo(Errors.NONE);
        assertThat(s.durable(s.c.addOffsetsToTxn(TXN, p.producerId(), p.producerEpoch(), OFFSETS, 2)))
                .isEqualTo(Errors.POLICY_VIOLATION);
        assertThat(s.metadata().partitions()).containsExactly(T0, T1);
    }

    @Test
    void aSuccessorLoadsEveryStateAndResendsTheMarkersOfPreparedTransactions() {
        for (TransactionState target : List.of(TransactionState.EMPTY, TransactionState.ONGOING,
                TransactionState.PREPARE_COMMIT, TransactionState.PREPARE_ABORT, TransactionState.COMPLETE_COMMIT,
                TransactionState.COMPLETE_ABORT)) {
            TxnTestSupport s = new TxnTestSupport();
            InitProducerIdResult p = driveTo(s, target);
            s.c.takeMarkers();

            TxnTestSupport successor = s.failOver();

            assertThat(successor.c.snapshot()).as(target.kafkaName()).isEqualTo(s.c.snapshot());
            List<TransactionMarkers> markers = successor.c.takeMarkers();
            if (target.isPrepare()) {
                assertThat(markers).singleElement().satisfies(m -> {
                    assertThat(m.coordinatorEpoch()).isEqualTo(1);
                    assertThat(m.result()).isEqualTo(target == TransactionState.PREPARE_COMMIT
                            ? TransactionResult.COMMIT : TransactionResult.ABORT);
                    assertThat(m.partitions()).containsExactly(T0);
                });
                successor.durable(successor.c.markersWritten(TXN, p.producerId(), p.producerEpoch(), 50));
                assertThat(successor.state()).isEqualTo(target == TransactionState.PREPARE_COMMIT
                        ? TransactionState.COMPLETE_COMMIT : TransactionState.COMPLETE_ABORT);
            } else {
                assertThat(markers).as(target.kafkaName()).isEmpty();
            }
            // The producer carries on with the successor: its epoch is still valid
            Errors end = successor.end(p, TransactionResult.ABORT, 60);
            assertThat(end).as(target.kafkaName()).isIn(Errors.NONE, Errors.INVALID_TXN_STATE);
        }
    }

    @Test
    void aSuccessorAbortsATimedOutOngoingTransaction() {
        TxnTestSupport s = new TxnTestSupport();
        driveTo(s, TransactionState.ONGOING);
        TxnTestSupport successor = s.failOver();
        assertThat(successor.c.onTick(10 + TIMEOUT_MS + 1)).singleElement()
                .isInstanceOfSatisfying(MetadataRecord.class, r -> assertThat(r.metadata().state())
                        .isEqualTo(TransactionState.PREPARE_ABORT));
    }

    /** Drives {@link TxnTestSupport#TXN} to {@code target}; the transaction (if any) holds T0, started at 10. */
    private static InitProducerIdResult driveTo(TxnTestSupport s, TransactionState target) {
        InitProducerIdResult p = s.init(0);
        if (target == TransactionState.EMPTY) {
            return p;
        }
        s.add(p, 10, T0);
        if (target == TransactionState.ONGOING) {
            return p;
        }
        boolean commit = target == TransactionState.PREPARE_COMMIT || target == TransactionState.COMPLETE_COMMIT;
        s.end(p, commit ? TransactionResult.COMMIT : TransactionResult.ABORT, 20);
        if (target.isPrepare()) {
            return p;
        }
        s.writeMarkers(30);
        assertThat(s.state()).isEqualTo(target);
        return p;
    }

    @Test
    void describeAndListReportDurableStateWithFilters() {
        TxnTestSupport s = new TxnTestSupport();
        InitProducerIdResult a = s.durable(s.c.initProducerId("a", TIMEOUT_MS, -1, NO_EPOCH, 0));
        s.durable(s.c.initProducerId("b", TIMEOUT_MS, -1, NO_EPOCH, 0));
        s.durable(s.c.addPartitionsToTxn("a", a.producerId(), a.producerEpoch(), List.of(T0), 100));

        assertThat(s.c.describe("a").orElseThrow().state().kafkaName()).isEqualTo("Ongoing");
        assertThat(s.c.describe("nope")).isEmpty();
        assertThat(s.c.listTransactions(List.of(), List.of(), -1, 1_000).transactions())
                .extracting(ListTransactionsResult.Listing::transactionalId).containsExactly("a", "b");
        ListTransactionsResult ongoing = s.c.listTransactions(List.of("Ongoing", "Bogus"), List.of(), -1, 1_000);
        assertThat(ongoing.transactions()).containsExactly(new ListTransactionsResult.Listing("a", a.producerId(),
                "Ongoing"));
        assertThat(ongoing.unknownStateFilters()).containsExactly("Bogus");
        assertThat(s.c.listTransactions(List.of(), List.of(a.producerId() + 1), -1, 1_000).transactions())
                .extracting(ListTransactionsResult.Listing::transactionalId).containsExactly("b");
        assertThat(s.c.listTransactions(List.of("Ongoing"), List.of(), 900, 1_000).transactions())
                .as("started 900 ms ago: not longer than 900").isEmpty();
        assertThat(s.c.listTransactions(List.of("Ongoing"), List.of(), 899, 1_000).transactions()).hasSize(1);
    }

    @Test
    void replayingATransitionTheTableForbidsFailsLoudly() {
        TxnTestSupport s = new TxnTestSupport();
        InitProducerIdResult p = s.init(0);
        TransactionMetadata empty = s.metadata();
        TransactionMetadata complete = new TransactionMetadata(TXN, p.producerId(), p.producerId(),
                p.producerEpoch(), NO_EPOCH, TIMEOUT_MS, TransactionState.COMPLETE_COMMIT, Set.of(), 0, 1);
        assertThatThrownBy(() -> s.c.replay(new MetadataRecord(complete))).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("Empty -> CompleteCommit");
        TransactionMetadata backwards = new TransactionMetadata(TXN, p.producerId(), p.producerId(), (short) 0,
                NO_EPOCH, TIMEOUT_MS, TransactionState.EMPTY, Set.of(), -1, 1);
        s.init(1);
        assertThatThrownBy(() -> s.c.replay(new MetadataRecord(backwards)))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("cannot become");
        assertThat(empty.state()).isEqualTo(TransactionState.EMPTY);
    }

    @Test
    void transitionTableMatchesKafkasValidPreviousStates() {
        for (TransactionState from : TransactionState.values()) {
            for (TransactionState to : TransactionState.values()) {
                boolean expected = switch (to) {
                    case EMPTY, DEAD -> Set.of(TransactionState.EMPTY, TransactionState.COMPLETE_COMMIT,
                            TransactionState.COMPLETE_ABORT).contains(from);
                    case ONGOING -> Set.of(TransactionState.EMPTY, TransactionState.ONGOING,
                            TransactionState.COMPLETE_COMMIT, TransactionState.COMPLETE_ABORT).contains(from);
                    case PREPARE_COMMIT, PREPARE_EPOCH_FENCE -> from == TransactionState.ONGOING;
                    case PREPARE_ABORT -> from == TransactionState.ONGOING
                            || from == TransactionState.PREPARE_EPOCH_FENCE;
                    case COMPLETE_COMMIT -> from == TransactionState.PREPARE_COMMIT;
                    case COMPLETE_ABORT -> from == TransactionState.PREPARE_ABORT;
                };
                assertThat(from.canTransitionTo(to)).as(from + " -> " + to).isEqualTo(expected);
            }
        }
    }

    @Test
    void appendErrorsMapToKafkasClientErrors() {
        assertThat(TransactionDecision.clientError(Errors.NOT_ENOUGH_REPLICAS))
                .isEqualTo(Errors.COORDINATOR_NOT_AVAILABLE);
        assertThat(TransactionDecision.clientError(Errors.REQUEST_TIMED_OUT))
                .isEqualTo(Errors.COORDINATOR_NOT_AVAILABLE);
        assertThat(TransactionDecision.clientError(Errors.NOT_LEADER_OR_FOLLOWER)).isEqualTo(Errors.NOT_COORDINATOR);
        assertThat(TransactionDecision.clientError(Errors.MESSAGE_TOO_LARGE)).isEqualTo(Errors.UNKNOWN_SERVER_ERROR);
    }

    @Test
    void configIsValidatedWhereItEnters() {
        assertThatThrownBy(() -> TransactionCoordinatorConfig.defaults().withTransactionMaxTimeoutMs(0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> TransactionCoordinatorConfig.defaults().withLimits(0, 10))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> TransactionCoordinatorConfig.defaults().withLimits(10, 1_000_000))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
