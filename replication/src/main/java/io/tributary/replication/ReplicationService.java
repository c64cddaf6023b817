package io.tributary.replication;

import com.google.protobuf.UnsafeByteOperations;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.tributary.metadata.BrokerRegistration;
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
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
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
 * <p>Bounds (whatever the peer asks for): one fetch in flight per stream (the next request is read only once the
 * answer to the previous one is written; the transport's flow-control window holds the rest), at most
 * {@code maxStreams} streams open at once (more are refused RESOURCE_EXHAUSTED), an answer's records within
 * {@code min(max_bytes, responseMaxBytes)} plus one batch, a wait within {@code maxWaitMs}. So the leader holds at
 * most {@code maxStreams} answers and {@code maxStreams} fetch waiters for its peers.
 *
 * <p>Throttle (KIP-73): the records of partitions marked by {@code leader.replication.throttled.replicas} are
 * counted in the node's leader {@link ReplicationQuota}; while it is over {@code leader.replication.throttled.rate},
 * they are held back from followers outside the ISR (see {@code docs/replication.md}).
 *
 * <p>Threads: a fetch is read and answered on its connection's event loop (the node's gRPC server runs this
 * service's calls directly, see {@code TributaryNode}); an answer that waits is sent by the append that ends the wait;
 * an ISR expand the fetch earns is proposed on the {@code isr-check} thread. Answers of one stream are written one at
 * a time.
 */
public final class ReplicationService extends ReplicationServiceGrpc.ReplicationServiceImplBase {

    private static final Logger log = LoggerFactory.getLogger(ReplicationService.class);

    /** Kafka's {@code replica.fetch.response.max.bytes} default: the records of one answer, at most (plus a batch). */
    public static final int DEFAULT_RESPONSE_MAX_BYTES = 10 << 20;
    /** Fetch streams open at once; a node's followers open one per leader (a second while one is reopened). */
    public static final int DEFAULT_MAX_STREAMS = 64;
    /** The longest a fetch waits for data, whatever it asks (followers ask for {@code replica.fetch.wait.max.ms}). */
    public static final long DEFAULT_MAX_WAIT_MS = 30_000;

    private final ReplicaManager replicas;
    private final int responseMaxBytes;
    private final int maxStreams;
    private final long maxWaitMs;
    private final AtomicInteger openStreams = new AtomicInteger();
    private final AtomicLong refusedStreams = new AtomicLong();

    public ReplicationService(ReplicaManager replicas) {
        this(replicas, DEFAULT_RESPONSE_MAX_BYTES, DEFAULT_MAX_STREAMS, DEFAULT_MAX_WAIT_MS);
    }

    public ReplicationService(ReplicaManager replicas, int responseMaxBytes, int maxStreams, long maxWaitMs) {
        if (responseMaxBytes < 1 || maxStreams < 1 || maxWaitMs < 0) {
            throw new IllegalArgumentException("responseMaxBytes and maxStreams must be >= 1, maxWaitMs >= 0");
        }
        this.replicas = replicas;
        this.responseMaxBytes = responseMaxBytes;
        this.maxStreams = maxStreams;
        this.maxWaitMs = maxWaitMs;
    }

    /** Fetch streams open now. */
    public int openStreams() {
        return openStreams.get();
    }

    /** Fetch streams refused because {@code maxStreams} were open. */
    public long refusedStreams() {
        return refusedStreams.get();
    }

    public int maxStreams() {
        return maxStreams;
    }

    @Override
    public StreamObserver<ReplicaFetchRequest> fetch(StreamObserver<ReplicaFetchResponse> responses) {
        if (openStreams.incrementAndGet() > maxStreams) {
            openStreams.decrementAndGet();
            refusedStreams.incrementAndGet();
            // Counted in refusedStreams (a metric); not logged each time, a peer could fill the log.
            log.debug("node={} refuses a fetch stream: {} are open already", replicas.nodeId(), maxStreams);
            responses.onError(Status.RESOURCE_EXHAUSTED
                    .withDescription(maxStreams + " fetch streams are open on this node").asRuntimeException());
            return new StreamObserver<>() {
                @Override
                public void onNext(ReplicaFetchRequest request) {
                }

                @Override
                public void onError(Throwable t) {
                }

                @Override
                public void onCompleted() {
                }
            };
        }
        AtomicBoolean open = new AtomicBoolean(true);
        Runnable release = () -> {
            if (open.compareAndSet(true, false)) {
                openStreams.decrementAndGet();
            }
        };
        // Manual flow control: the next fetch of this stream is read once the answer to this one is written, so a
        // peer that sends fetches without waiting for answers gets them answered one at a time.
        var call = (ServerCallStreamObserver<ReplicaFetchResponse>) responses;
        call.disableAutoRequest();
        call.setOnCancelHandler(release);
        call.request(1);
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
                            call.request(1);
                        } catch (RuntimeException e) {
                            log.debug("node={} cannot answer replica {}: {}", replicas.nodeId(),
                                    request.getReplicaId(), e.toString());
                        }
                    }
                });
            }

            @Override
            public void onError(Throwable t) {
                release.run();
                log.debug("node={} fetch stream from a follower ended: {}", replicas.nodeId(), t.toString());
            }

            @Override
            public void onCompleted() {
                release.run();
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
        long waitMs = Math.min(Math.max(0, request.getMaxWaitMs()), maxWaitMs);
        long deadlineNs = System.nanoTime() + waitMs * 1_000_000L;
        return attempt(request, deadlineNs);
    }

    private CompletableFuture<ReplicaFetchResponse> attempt(ReplicaFetchRequest request, long deadlineNs) {
        Map<PartitionId, Long> seen = new LinkedHashMap<>();
        Answer answer = read(request, seen);
        long remainingMs = (deadlineNs - System.nanoTime()) / 1_000_000L;
        if (answer.bytes > 0 || answer.mustAnswer || remainingMs <= 0 || (seen.isEmpty() && !answer.heldBack)) {
            return CompletableFuture.completedFuture(answer.response);
        }
        // A partition held back by the throttle is not watched (its log end is already past the fetch), but the
        // fetch still waits, as Kafka's delayed fetch does, rather than have the follower ask again at once.
        return replicas.await(seen, remainingMs, p -> p.replicaLog().logEndOffset())
                .thenCompose(v -> attempt(request, deadlineNs));
    }

    /** @param heldBack whether the leader throttle held back a partition's records */
    private record Answer(ReplicaFetchResponse response, int bytes, boolean mustAnswer, boolean heldBack) {}

    /**
     * Reads every partition of the fetch through its {@link Partition} (which checks the replica, records its
     * position and finds divergence). The records of all partitions together stay within the request's max bytes,
     * (at most {@code responseMaxBytes}), except that the first partition with data gets at least one batch (KIP-74),
     * so one answer never exceeds that plus one batch.
     */
    private Answer read(ReplicaFetchRequest request, Map<PartitionId, Long> seen) {
        ReplicaFetchResponse.Builder response = ReplicaFetchResponse.newBuilder();
        int budget = Math.max(1, Math.min(request.getMaxBytes(), responseMaxBytes));
        int total = 0;
        boolean mustAnswer = false;
        boolean heldBack = false;
        long nowMs = replicas.nowMs();
        ReplicationQuota quota = replicas.leaderQuota();
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
                    fetch.getFetchOffset(), fetch.getLastFetchedEpoch(), fetch.getCurrentLeaderEpoch(),
                    fetch.getLogStartOffset());
            Completions done = new Completions();
            // The leader throttle (KIP-73): a throttled partition's records are held back from a follower outside
            // the ISR while the throttled bytes are over the rate; the fetch still records its position.
            boolean throttled = quota.isThrottled(id);
            boolean hold = throttled && !p.image().isr().contains(request.getReplicaId()) && quota.isExceeded(nowMs);
            FetchAnswer answer;
            try {
                answer = p.onFollowerFetch(follower, brokers, hold ? 0 : budget - total, total == 0 && !hold, nowMs,
                        done);
            } catch (IOException | RuntimeException e) {
                log.error("node={} cannot read {} for replica {}", replicas.nodeId(), id, request.getReplicaId(), e);
                answer = FetchAnswer.error(ReplicaFetchError.STORAGE_ERROR);
            }
            replicas.onHighWatermarkMaybeMoved(p, done);
            if (answer.error() == ReplicaFetchError.NONE && p.mayExpandIsrWith(request.getReplicaId(), nowMs)) {
                replicas.maybeChangeIsrLater(p);
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
            if (throttled) {
                quota.record(records.remaining(), nowMs);
            }
            if (hold) {
                quota.onHeldBack();
                heldBack = true;
            } else if (!records.hasRemaining()) {
                seen.put(id, fetch.getFetchOffset());
            }
            // The buffer is this answer's own (a fresh read): hand it to protobuf without a copy.
            response.addPartitions(data.setRecords(UnsafeByteOperations.unsafeWrap(records)));
        }
        return new Answer(response.build(), total, mustAnswer, heldBack);
    }
}
