package io.tributary.node.txn;

import java.util.Objects;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.RecordBatch;

/** The answer to InitProducerId: an error, or the producer id and epoch the producer now owns. */
public record InitProducerIdResult(Errors error, long producerId, short producerEpoch) {

    public InitProducerIdResult {
        Objects.requireNonNull(error);
    }

    static InitProducerIdResult failed(Errors error) {
        return new InitProducerIdResult(error, RecordBatch.NO_PRODUCER_ID, RecordBatch.NO_PRODUCER_EPOCH);
    }
}
