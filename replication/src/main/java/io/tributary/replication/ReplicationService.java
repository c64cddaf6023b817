package io.tributary.replication;

import com.google.protobuf.ByteString;
import io.grpc.stub.StreamObserver;
import io.tributary.proto.replication.EpochEndOffset;
import io.tributary.proto.replication.PartitionData;
import io.tributary.proto.replication.PartitionFetch;
import io.tributary.proto.replication.ReplicaFetchError;
import io.tributary.proto.replication.ReplicaFetchRequest;
import io.tributary.proto.replication.ReplicaFetchResponse;
import io.tributary.proto.replication.ReplicationServiceGrpc;
import io.tributary.replication.log.LogReadResult;
import io.tributary.replication.log.PartitionLog;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The leader's side of replication: answers follower fetches arriving on {@code ReplicationService.Fetch} streams.
 * A fetch at offset {@code o} tells the leader the follower has everything below {@code o} (its log end offset),
 * which may advance the high watermark. The answer carries the stored batches from {@code o} (up to the leader's
 * log end, not just the high watermark), the high watermark, or, where the follower's last fetched epoch shows its
 * log diverges, that epoch's end offset on the leader (KIP-320). A fetch that finds nothing waits (without a thread)
 * for an append or {@code max_wait_ms}.
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
        return attempt(request, deadlineNs, true);
    }

    private CompletableFuture<ReplicaFetchResponse> attempt(ReplicaFetchRequest request, long deadlineNs,
            boolean first) {
        Map<PartitionId, Long> seen = new LinkedHashMap<>();
        Answer answer = read(request, seen, first);
        long remainingMs = (deadlineNs - System.nanoTime()) / 1_000_000L;
        if (answer.bytes > 0 || answer.mustAnswer || remainingMs <= 0 || seen.isEmpty()) {
            return CompletableFuture.completedFuture(answer.response);
        }
        return replicas.await(seen, remainingMs, p -> p.log().logEndOffset())
                .thenCompose(v -> attempt(request, deadlineNs, false));
    }

    private record Answer(ReplicaFetchResponse response, int bytes, boolean mustAnswer) {}

    /**
     * Reads every partition of the fetch. Only the first read of a fetch records the follower's position (a re-read
     * after a wait would report the same offsets again).
     */
    private Answer read(ReplicaFetchRequest request, Map<PartitionId, Long> seen, boolean recordPosition) {
        ReplicaFetchResponse.Builder response = ReplicaFetchResponse.newBuilder();
        int budget = Math.max(1, request.getMaxBytes());
        int total = 0;
        boolean mustAnswer = false;
        long nowMs = replicas.nowMs();
        for (PartitionFetch fetch : request.getPartitionsList()) {
            PartitionId id = new PartitionId(fetch.getTopic(), fetch.getPartition());
            PartitionData.Builder data = PartitionData.newBuilder().setTopic(fetch.getTopic())
                    .setPartition(fetch.getPartition());
            Partition p = replicas.hostedOrNull(id);
            ReplicaFetchError error = check(p, fetch, request.getReplicaId());
            if (error != ReplicaFetchError.NONE) {
                response.addPartitions(data.setError(error));
                mustAnswer = true;
                continue;
            }
            PartitionLog partitionLog = p.log();
            data.setLogStartOffset(partitionLog.logStartOffset());
            long fetchOffset = fetch.getFetchOffset();
            EpochEndOffset diverging = divergence(partitionLog, fetch);
            if (diverging != null) {
                response.addPartitions(data.setDivergingEpoch(diverging).setHighWatermark(p.highWatermark()));
                mustAnswer = true;
                continue;
            }
            if (fetchOffset < partitionLog.logStartOffset()) {
                response.addPartitions(data.setError(ReplicaFetchError.OFFSET_OUT_OF_RANGE));
                mustAnswer = true;
                continue;
            }
            if (recordPosition) {
                List<CompletableFuture<Void>> committed = p.onFollowerFetch(request.getReplicaId(), fetchOffset,
                        nowMs);
                replicas.onHighWatermarkMaybeMoved(p, committed);
            }
            ByteBuffer records = ByteBuffer.allocate(0);
            if (fetchOffset < partitionLog.logEndOffset()) {
                try {
                    LogReadResult read = partitionLog.read(fetchOffset, Math.max(1, budget - total), Long.MAX_VALUE);
                    records = read.records();
                } catch (IOException | RuntimeException e) {
                    log.error("node={} cannot read {} for replica {}", replicas.nodeId(), id, request.getReplicaId(),
                            e);
                    response.addPartitions(data.setError(ReplicaFetchError.STORAGE_ERROR));
                    mustAnswer = true;
                    continue;
                }
            }
            total += records.remaining();
            seen.put(id, partitionLog.logEndOffset() > fetchOffset ? fetchOffset : partitionLog.logEndOffset());
            response.addPartitions(data.setHighWatermark(p.highWatermark()).setRecords(ByteString.copyFrom(records)));
        }
        return new Answer(response.build(), total, mustAnswer);
    }

    private static ReplicaFetchError check(Partition p, PartitionFetch fetch, int replicaId) {
        if (p == null) {
            return ReplicaFetchError.UNKNOWN_PARTITION;
        }
        if (!p.isLeader()) {
            return ReplicaFetchError.NOT_LEADER;
        }
        if (fetch.getCurrentLeaderEpoch() < p.leaderEpoch()) {
            return ReplicaFetchError.FENCED_LEADER_EPOCH;
        }
        if (fetch.getCurrentLeaderEpoch() > p.leaderEpoch()) {
            return ReplicaFetchError.UNKNOWN_LEADER_EPOCH;
        }
        if (!p.image().replicas().contains(replicaId)) {
            return ReplicaFetchError.NOT_IN_REPLICAS;
        }
        return ReplicaFetchError.NONE;
    }

    /**
     * KIP-320: the follower's log diverges if the leader's log has no batch of the follower's last fetched epoch
     * ending at or after the fetch offset. Then the answer is the end of the largest leader epoch not above it.
     */
    private static EpochEndOffset divergence(PartitionLog partitionLog, PartitionFetch fetch) {
        long fetchOffset = fetch.getFetchOffset();
        if (fetch.getLastFetchedEpoch() < 0) {
            if (fetchOffset > partitionLog.logEndOffset()) {
                // A follower ahead of the leader without epochs: truncate it to the leader's end.
                return EpochEndOffset.newBuilder().setEpoch(-1).setEndOffset(partitionLog.logEndOffset()).build();
            }
            return null;
        }
        io.tributary.replication.log.EpochEndOffset end = partitionLog.endOffsetForEpoch(fetch.getLastFetchedEpoch());
        if (end.epoch() < fetch.getLastFetchedEpoch() || end.endOffset() < fetchOffset) {
            return EpochEndOffset.newBuilder().setEpoch(end.epoch()).setEndOffset(end.endOffset()).build();
        }
        return null;
    }
}
