package io.tributary.node.txn;

import java.util.List;
import java.util.Objects;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.requests.TransactionResult;

/**
 * The COMMIT or ABORT markers a durable PrepareCommit/PrepareAbort requires: one per partition of the transaction,
 * written by each partition's leader (WriteTxnMarkers, into {@code ReplicaManager.appendTransactionMarker}). Once
 * every partition acknowledged, the driver calls {@link TransactionCoordinator#markersWritten}.
 *
 * @param coordinatorEpoch the leader epoch of the {@code __transaction_state} partition this coordinator serves;
 *     partition leaders refuse markers from an older coordinator epoch
 * @param partitions sorted by topic, then partition; may be empty (the transaction then completes at once)
 */
public record TransactionMarkers(String transactionalId, long producerId, short producerEpoch,
        TransactionResult result, int coordinatorEpoch, List<TopicPartition> partitions) {

    public TransactionMarkers {
        Objects.requireNonNull(transactionalId);
        Objects.requireNonNull(result);
        partitions = List.copyOf(partitions);
    }
}
