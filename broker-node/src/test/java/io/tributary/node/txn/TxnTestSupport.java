package io.tributary.node.txn;

import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.requests.TransactionResult;

/** A coordinator with a durable log that every decision is appended to and replayed from, as the driver does. */
final class TxnTestSupport {

    static final String TXN = "txn";
    static final int TIMEOUT_MS = 60_000;
    static final TopicPartition T0 = new TopicPartition("t", 0);
    static final TopicPartition T1 = new TopicPartition("t", 1);
    static final TopicPartition OFFSETS = new TopicPartition("__consumer_offsets", 7);

    /** Producer ids 1000, 1001, ...; {@link #exhausted} makes the supplier answer -1 (no block yet). */
    static final class Ids implements LongSupplier {
        long next = 1000;
        boolean exhausted;

        @Override
        public long getAsLong() {
            return exhausted ? -1 : next++;
        }
    }

    final TransactionCoordinatorConfig config;
    final Ids ids;
    final List<TransactionRecord> log = new ArrayList<>();
    TransactionCoordinator c;

    TxnTestSupport() {
        this(TransactionCoordinatorConfig.defaults());
    }

    TxnTestSupport(TransactionCoordinatorConfig config) {
        this(config, new Ids(), 0, List.of());
    }

    TxnTestSupport(TransactionCoordinatorConfig config, Ids ids, int coordinatorEpoch, List<TransactionRecord> log) {
        this.config = config;
        this.ids = ids;
        this.log.addAll(log);
        this.c = new TransactionCoordinator(config, coordinatorEpoch, ids);
        c.load(this.log);
    }

    /** A successor coordinator (epoch + 1) loading this one's log. */
    TxnTestSupport failOver() {
        return new TxnTestSupport(config, ids, c.coordinatorEpoch() + 1, log);
    }

    /** Appends the decision's records, replays them, and returns the response (as the driver does on success). */
    <R> R durable(TransactionDecision<R> decision) {
        durable(decision.records());
        return decision.response();
    }

    void durable(List<TransactionRecord> records) {
        for (TransactionRecord r : records) {
            log.add(r);
            c.replay(r);
        }
    }

    InitProducerIdResult init(long nowMs) {
        return durable(c.initProducerId(TXN, TIMEOUT_MS, -1, RecordBatch.NO_PRODUCER_EPOCH, nowMs));
    }

    InitProducerIdResult init(long expectedProducerId, short expectedEpoch, long nowMs) {
        return durable(c.initProducerId(TXN, TIMEOUT_MS, expectedProducerId, expectedEpoch, nowMs));
    }

    Errors add(InitProducerIdResult p, long nowMs, TopicPartition... partitions) {
        return durable(c.addPartitionsToTxn(TXN, p.producerId(), p.producerEpoch(), List.of(partitions), nowMs));
    }

    Errors end(InitProducerIdResult p, TransactionResult result, long nowMs) {
        return durable(c.endTxn(TXN, p.producerId(), p.producerEpoch(), result, nowMs));
    }

    /** Writes every requested marker and makes the completions durable; returns the markers requested. */
    List<TransactionMarkers> writeMarkers(long nowMs) {
        List<TransactionMarkers> markers = c.takeMarkers();
        for (TransactionMarkers m : markers) {
            durable(c.markersWritten(m.transactionalId(), m.producerId(), m.producerEpoch(), nowMs));
        }
        return markers;
    }

    TransactionState state() {
        return c.describe(TXN).orElseThrow().state();
    }

    TransactionMetadata metadata() {
        return c.describe(TXN).orElseThrow();
    }
}
