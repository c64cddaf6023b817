package io.tributary.node.txn;

import io.tributary.replication.PartitionId;
import io.tributary.replication.ReplicaException;
import io.tributary.replication.ReplicaManager;
import io.tributary.storage.LogException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.protocol.Errors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes COMMIT/ABORT markers on the partitions this node leads (the partition leader's side of Kafka's
 * WriteTxnMarkers), for the transaction coordinators (local, or remote through {@link TransactionMarkerGrpcService})
 * and for the WriteTxnMarkers API ({@code kafka-transactions abort}). Each marker is written like an acks=all append
 * and reported written once committed (the high watermark past it). Thread-safe.
 */
public final class TransactionMarkerWriter {

    /** The most partitions one call may name (a coordinator sends at most 1,000 per transaction). */
    public static final int MAX_PARTITIONS = 10_000;
    private static final Logger log = LoggerFactory.getLogger(TransactionMarkerWriter.class);
    private static final long COMMIT_TIMEOUT_MS = 10_000;

    /** Told of each marker once committed (the group coordinator applies or drops transactional offsets). */
    public interface Listener {
        void markerWritten(TopicPartition partition, long producerId, boolean commit);
    }

    private final ReplicaManager replicas;
    private volatile Listener listener = (partition, producerId, commit) -> { };

    public TransactionMarkerWriter(ReplicaManager replicas) {
        this.replicas = replicas;
    }

    public void setListener(Listener listener) {
        this.listener = listener;
    }

    /**
     * Writes the marker of the producer's transaction on each partition; completes with a Kafka error per partition
     * (NONE once the marker is committed). Never completes exceptionally.
     */
    public CompletableFuture<Map<TopicPartition, Errors>> write(long producerId, short producerEpoch, boolean commit,
            int coordinatorEpoch, Collection<TopicPartition> partitions) {
        Map<TopicPartition, Errors> results = new ConcurrentHashMap<>();
        List<CompletableFuture<Void>> pending = new ArrayList<>();
        for (TopicPartition tp : partitions) {
            CompletableFuture<Void> committed;
            try {
                committed = replicas.appendTransactionMarker(new PartitionId(tp.topic(), tp.partition()), producerId,
                        producerEpoch, coordinatorEpoch, commit).committed()
                        .orTimeout(COMMIT_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            } catch (RuntimeException e) {
                results.put(tp, errorOf(e));
                continue;
            }
            pending.add(committed.handle((v, e) -> {
                if (e == null) {
                    results.put(tp, Errors.NONE);
                    try {
                        listener.markerWritten(tp, producerId, commit);
                    } catch (RuntimeException bug) {
                        log.error("marker listener failed for {}", tp, bug);
                    }
                } else {
                    results.put(tp, errorOf(e));
                }
                return null;
            }));
        }
        return CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new)).thenApply(v -> Map.copyOf(results));
    }

    /** Kafka's error for a marker that could not be written or committed. */
    static Errors errorOf(Throwable t) {
        Throwable cause = t instanceof java.util.concurrent.CompletionException && t.getCause() != null
                ? t.getCause() : t;
        if (cause instanceof TimeoutException) {
            return Errors.REQUEST_TIMED_OUT;
        }
        if (cause instanceof ReplicaException re) {
            return switch (re.error()) {
                case UNKNOWN_TOPIC_OR_PARTITION -> Errors.UNKNOWN_TOPIC_OR_PARTITION;
                case NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH -> Errors.NOT_LEADER_OR_FOLLOWER;
                case KAFKA_STORAGE_ERROR -> Errors.KAFKA_STORAGE_ERROR;
                case NOT_ENOUGH_REPLICAS -> Errors.NOT_ENOUGH_REPLICAS;
                case NOT_ENOUGH_REPLICAS_AFTER_APPEND -> Errors.NOT_ENOUGH_REPLICAS_AFTER_APPEND;
                case OFFSET_OUT_OF_RANGE -> Errors.OFFSET_OUT_OF_RANGE; // DeleteRecords only
            };
        }
        if (cause instanceof LogException le) {
            return switch (le.error()) {
                case INVALID_PRODUCER_EPOCH -> Errors.INVALID_PRODUCER_EPOCH;
                case TRANSACTION_COORDINATOR_FENCED -> Errors.TRANSACTION_COORDINATOR_FENCED;
                default -> Errors.UNKNOWN_SERVER_ERROR;
            };
        }
        log.warn("a transaction marker failed unexpectedly", cause);
        return Errors.UNKNOWN_SERVER_ERROR;
    }
}
