package io.tributary.replication;

import com.google.protobuf.UnsafeByteOperations;
import io.tributary.metadata.BrokerRegistration;
import io.grpc.stub.StreamObserver;
import io.tributary.proto.replication.EpochEndOffset;
import io.tributary.proto.replication.PartitionData;
import io.tributary.proto.replication.PartitionFetch;
import io.tributary.proto.replication.ReplicaFetchError;
import io.tributary.proto.replication.ReplicaFetchRequest;
import io.tributary.proto.replication.ReplicaFetchResponse;
import io.tributary.proto.replication.ReplicationServiceGrpc;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The leader's side of replication, a thin shell over {@link Partition#onFollowerFetch}: answers follower fetches
 * arriving on {@code ReplicationService.Fetch} streams. A fetch at offset {@code o} from a registered replica with
 * its current broker epoch tells the leader the follower has everything below {@code o} (its log end offset),
 * which may advance the high watermark. The answer carries the stored batches from {@code o} (up to the leader's
 * log end, not just the high watermark), the high watermark, or, where the follower's last fetched epoch shows its
 * log diverges, that epoch's end offset on the leader (KIP-320). A fetch that finds nothing waits (without a thread)
 * for an append or {@code max_wait_ms}. The records of one answer stay within the request's max bytes plus one batch.
 *
 * <p>Threads: gRPC threads; answers of one stream are written one at a time.
 */
public final class ReplicationService extends ReplicationServiceGrpc.ReplicationServiceImplBase {

    private static final Logger log = LoggerFactory.getLogger(ReplicationService.class);

    private final ReplicaManager replicas;

    public ReplicationService(ReplicaManager replicas) {
        this.replicas = replicas;
    }

    @Override
    public StreamObserver<ReplicaFetchRequest> fetch(StreamObserver<ReplicaFetchResponse> responses) {
        return new StreamObserver<>() {
            @Override
            public void onNext(ReplicaFetchRequest request) {
                handle(request).whenComplete((response, error) -> {
                    synchronized (responses) {
                        try {
                            if (error != null) {
                                log.error("node={} failed a fetch from replica {}", replicas.nodeId(),
                                        request.getReplicaId(), error);
                                responses.onNext(ReplicaFetchResponse.getDefaultInstance());
                            } else {
                                responses.onNext(response);
                            }
                        } catch (RuntimeException e) {
                            log.debug("node={} cannot answer replica {}: {}", replicas.nodeId(),
                                    request.getReplicaId(), e.toString());
                        }
                    }
                });
            }

            @Override
            public void onError(Throwable t) {
                log.debug("node={} fetch stream from a follower ended: {}", replicas.nodeId(), t.toString());
            }

            @Override
            public void onCompleted() {
                synchronized (responses) {
                    try {
                        responses.onCompleted();
                    } catch (RuntimeException ignored) {
                        // Already closed.
                    }
                }
            }
        };
    }

    CompletableFuture<ReplicaFetchResponse> handle(ReplicaFetchRequest request) {
        long deadlineNs = System.nanoTime() + request.getMaxWaitMs() * 1_000_000L;
        return attempt(request, deadlineNs);
    }

    private CompletableFuture<ReplicaFetchResponse> attempt(ReplicaFetchRequest request, long deadlineNs) {
        Map<PartitionId, Long> seen = new LinkedHashMap<>();
        Answer answer = read(request, seen);
        long remainingMs = (deadlineNs - System.nanoTime()) / 1_000_000L;
        if (answer.bytes > 0 || answer.mustAnswer || remainingMs <= 0 || seen.isEmpty()) {
            return CompletableFuture.completedFuture(answer.response);
        }
        return replicas.await(seen, remainingMs, p -> p.replicaLog().logEndOffset())
                .thenCompose(v -> attempt(request, deadlineNs));
    }

    private record Answer(ReplicaFetchResponse response, int bytes, boolean mustAnswer) {}

    /**
     * Reads every partition of the fetch through its {@link Partition} (which checks the replica, records its
     * position and finds divergence). The records of all partitions together stay within the request's max bytes,
     * except that the first partition with data gets at least one batch (KIP-74), so one answer never exceeds
     * max bytes plus one batch.
     */
    private Answer read(ReplicaFetchRequest request, Map<PartitionId, Long> seen) {
        ReplicaFetchResponse.Builder response = ReplicaFetchResponse.newBuilder();
        int budget = Math.max(1, request.getMaxBytes());
        int total = 0;
        boolean mustAnswer = false;
        long nowMs = replicas.nowMs();
        Map<Integer, BrokerRegistration> brokers = replicas.image().brokers();
        for (PartitionFetch fetch : request.getPartitionsList()) {
            PartitionId id = new PartitionId(fetch.getTopic(), fetch.getPartition());
            PartitionData.Builder data = PartitionData.newBuilder().setTopic(fetch.getTopic())
                    .setPartition(fetch.getPartition());
            Partition p = replicas.hostedOrNull(id);
            if (p == null) {
                response.addPartitions(data.setError(ReplicaFetchError.UNKNOWN_PARTITION));
                mustAnswer = true;
                continue;
            }
            FollowerFetch follower = new FollowerFetch(request.getReplicaId(), request.getBrokerEpoch(),
                    fetch.getFetchOffset(), fetch.getLastFetchedEpoch(), fetch.getCurrentLeaderEpoch());
            Completions done = new Completions();
            FetchAnswer answer;
            try {
                answer = p.onFollowerFetch(follower, brokers, budget - total, total == 0, nowMs, done);
            } catch (IOException | RuntimeException e) {
                log.error("node={} cannot read {} for replica {}", replicas.nodeId(), id, request.getReplicaId(), e);
                answer = FetchAnswer.error(ReplicaFetchError.STORAGE_ERROR);
            }
            replicas.onHighWatermarkMaybeMoved(p, done);
            if (answer.error() == ReplicaFetchError.NONE && p.mayExpandIsrWith(request.getReplicaId(), nowMs)) {
                replicas.maybeChangeIsr(p, brokers, nowMs);
            }
            data.setError(answer.error());
            if (answer.error() != ReplicaFetchError.NONE) {
                if (answer.logStartOffset() >= 0) {
                    data.setLogStartOffset(answer.logStartOffset());
                }
                response.addPartitions(data);
                mustAnswer = true;
                continue;
            }
            data.setHighWatermark(answer.highWatermark()).setLogStartOffset(answer.logStartOffset());
            if (answer.divergingEpoch() != null) {
                response.addPartitions(data.setDivergingEpoch(EpochEndOffset.newBuilder()
                        .setEpoch(answer.divergingEpoch().epoch())
                        .setEndOffset(answer.divergingEpoch().endOffset())));
                mustAnswer = true;
                continue;
            }
            ByteBuffer records = answer.records();
            total += records.remaining();
            if (!records.hasRemaining()) {
                seen.put(id, fetch.getFetchOffset());
            }
            // The buffer is this answer's own (a fresh read): hand it to protobuf without a copy.
            response.addPartitions(data.setRecords(UnsafeByteOperations.unsafeWrap(records)));
        }
        return new Answer(response.build(), total, mustAnswer);
    }
}
