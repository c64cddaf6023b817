package io.tributary.replication;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import io.tributary.metadata.Uuids;
import io.tributary.proto.replication.PartitionData;
import io.tributary.proto.replication.PartitionFetch;
import io.tributary.proto.replication.ReplicaFetchError;
import io.tributary.proto.replication.ReplicaFetchRequest;
import io.tributary.proto.replication.ReplicaFetchResponse;
import io.tributary.storage.EpochEndOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pulls every partition this node follows from one leader broker over one bidirectional gRPC stream. One fetch is
 * outstanding at a time: the leader answers when it has data or after {@code maxWaitMs}; this fetcher applies the
 * answer (appends the leader's batches unchanged, truncates a diverging tail, takes the leader's high watermark)
 * and sends the next fetch. A broken stream is reopened after a pause.
 *
 * <p>Divergence (KIP-320): each fetch carries the epoch of this replica's last batch; if the leader's log differs
 * there, it answers with the end offset of that epoch on its side, and this replica truncates to the smaller of
 * that and its own end of that epoch before fetching again.
 *
 * <p>Threads: the answers are applied on the fetcher thread ({@link FetcherLoops}) that serves the connection, as
 * they arrive; {@link #set}/{@link #remove} may be called from any thread.
 * Lifecycle: created when this node first follows a partition of the leader; {@link #close} when it follows none.
 */
final class ReplicaFetcher implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ReplicaFetcher.class);
    private static final long RECONNECT_BACKOFF_MS = 500;
    /** How long a partition whose fetch failed sits out of fetches (Kafka's replica.fetch.backoff.ms). */
    static final long ERROR_BACKOFF_MS = 1_000;
    /**
     * The backoff after an answer that only says the two nodes' metadata disagree for now (the leader has not
     * published its leadership, epoch or this node's registration yet, or this node has not seen a newer epoch):
     * both are about to apply the same image, often within milliseconds. A new leader can commit an acks=all write
     * only once its followers fetch again, so a full {@link #ERROR_BACKOFF_MS} here added up to a second to every
     * fail-over whose followers published the change before their new leader did.
     */
    static final long METADATA_LAG_BACKOFF_MS = 50;
    /** When the follower throttle left every partition out of a fetch: how long until the rate is checked again. */
    static final long THROTTLE_BACKOFF_MS = 250;

    private final int nodeId;
    private final int leaderId;
    private final ManagedChannel channel;
    private final ReplicaManager replicas;
    private final ScheduledExecutorService scheduler;
    private final LongSupplier brokerEpoch;
    private final int maxWaitMs;
    private final int maxBytes;
    /** The replication service's fetch, its answers parsed without copying their records. */
    private final MethodDescriptor<ReplicaFetchRequest, ReplicaFetchResponse> fetchMethod;
    /** Followed partitions with the leader epoch this node believes in. */
    private final Map<PartitionId, Integer> partitions = new ConcurrentHashMap<>();
    /** Partitions whose last fetch failed -> when they may be fetched again (System.nanoTime based, in ms). */
    private final Map<PartitionId, Long> backoffUntilMs = new ConcurrentHashMap<>();
    /** The fetch in flight: per partition, the offset and leader epoch it was sent with. */
    private volatile Map<PartitionId, SentFetch> inFlight = Map.of();

    /** What one partition's fetch was sent with; its answer applies only if the partition still matches it. */
    private record SentFetch(long fetchOffset, int leaderEpoch) {}
    private StreamObserver<ReplicaFetchRequest> stream;
    /**
     * How many streams were opened, which is the last one's number (written under this); callbacks of an older
     * stream are ignored. A stream that fails as it starts reports so on the opening thread, inside {@code fetch()},
     * since callbacks run on the caller's thread ({@link FetcherLoops}); {@link #endedGeneration} then tells
     * {@link #open} not to keep it.
     */
    private volatile long generation;
    private long endedGeneration;
    private volatile boolean closed;
    /** When a stream failure was last logged as a warning (nanoTime-based ms); see onError. */
    private volatile long lastStreamWarnMs = Long.MIN_VALUE / 2;
    private static final long STREAM_WARN_INTERVAL_MS = 60_000;

    /**
     * @param tls mutual TLS towards the leader, or null for plaintext
     * @param loops the fetcher threads: the connection's events and this fetcher's callbacks run on one of them
     */
    ReplicaFetcher(int nodeId, int leaderId, String host, int port,
            io.grpc.netty.shaded.io.netty.handler.ssl.SslContext tls, FetcherLoops loops, ReplicaManager replicas,
            ScheduledExecutorService scheduler, LongSupplier brokerEpoch, int maxWaitMs, int maxBytes) {
        this.nodeId = nodeId;
        this.leaderId = leaderId;
        NettyChannelBuilder builder = NettyChannelBuilder.forAddress(host, port);
        if (tls != null) {
            builder.sslContext(tls);
        } else {
            builder.usePlaintext();
        }
        int maxAnswerBytes = (int) Math.min(Integer.MAX_VALUE, Math.max(2L * maxBytes, 4 << 20));
        this.channel = loops.configure(builder).maxInboundMessageSize(maxAnswerBytes).build();
        this.fetchMethod = FetchAnswerMarshaller.fetchMethod(
                (int) Math.min(2L * maxBytes, FetchAnswerMarshaller.MAX_REUSED_BYTES));
        this.replicas = replicas;
        this.scheduler = scheduler;
        this.brokerEpoch = brokerEpoch;
        this.maxWaitMs = maxWaitMs;
        this.maxBytes = maxBytes;
    }

    int leaderId() {
        return leaderId;
    }

    void set(PartitionId id, int leaderEpoch) {
        boolean first = partitions.isEmpty();
        partitions.put(id, leaderEpoch);
        if (first) {
            synchronized (this) {
                if (stream == null) {
                    open();
                }
            }
        }
    }

    void remove(PartitionId id) {
        partitions.remove(id);
        backoffUntilMs.remove(id);
    }

    boolean isEmpty() {
        return partitions.isEmpty();
    }

    private synchronized void open() {
        if (closed) {
            return;
        }
        inFlight = Map.of(); // nothing a previous stream asked for may be applied as an answer on this one
        long opened = ++generation;
        StreamObserver<ReplicaFetchRequest> started = ClientCalls.asyncBidiStreamingCall(
                channel.newCall(fetchMethod, CallOptions.DEFAULT), new StreamObserver<ReplicaFetchResponse>() {
                    @Override
                    public void onNext(ReplicaFetchResponse response) {
                        // The answer's records are a view of this thread's parse buffer (FetchAnswerMarshaller):
                        // applied here and not kept.
                        if (generation != opened) {
                            return; // an answer on a stream already replaced
                        }
                        try {
                            apply(response);
                        } catch (RuntimeException e) {
                            log.error("node={} failed to apply a fetch from leader {}", nodeId, leaderId, e);
                        }
                        scheduleNext(0);
                    }

                    @Override
                    public void onError(Throwable t) {
                        // An unreachable leader is routine (debug); anything else, such as an answer that cannot be
                        // parsed, would repeat on every new stream: warned, at most once a minute per leader.
                        long nowMs = System.nanoTime() / 1_000_000L;
                        if (Status.fromThrowable(t).getCode() != Status.Code.UNAVAILABLE
                                && nowMs - lastStreamWarnMs >= STREAM_WARN_INTERVAL_MS) {
                            lastStreamWarnMs = nowMs;
                            log.warn("node={} fetch stream to leader {} failed: {}", nodeId, leaderId, t.toString());
                        } else {
                            log.debug("node={} fetch stream to leader {} failed: {}", nodeId, leaderId,
                                    t.toString());
                        }
                        reopenLater(opened);
                    }

                    @Override
                    public void onCompleted() {
                        reopenLater(opened);
                    }
                });
        if (endedGeneration == opened) {
            return; // it failed as it started (the leader is unreachable): a reopen is already scheduled
        }
        stream = started;
        sendNext();
    }

    /** Fetch streams opened so far, including those that failed at once (a test's view of the reconnects). */
    long streamsOpened() {
        return generation;
    }

    /** The stream {@code ended} ended: unless a newer one replaced it, a new stream opens after a pause. */
    private void reopenLater(long ended) {
        synchronized (this) {
            if (ended != generation) {
                return;
            }
            stream = null;
            endedGeneration = ended;
        }
        if (!closed) {
            scheduler.schedule(() -> {
                synchronized (this) {
                    if (stream == null && generation == ended && !partitions.isEmpty()) {
                        // A leader that was down is reached as soon as it listens again, not after gRPC's
                        // reconnect backoff (up to two minutes after a long outage).
                        channel.resetConnectBackoff();
                        open();
                    }
                }
            }, RECONNECT_BACKOFF_MS, TimeUnit.MILLISECONDS);
        }
    }

    private void scheduleNext(long delayMs) {
        if (closed) {
            return;
        }
        if (delayMs <= 0) {
            sendNext();
        } else {
            scheduler.schedule(this::sendNext, delayMs, TimeUnit.MILLISECONDS);
        }
    }

    private void sendNext() {
        StreamObserver<ReplicaFetchRequest> current;
        synchronized (this) {
            current = stream;
        }
        if (current == null || closed) {
            return;
        }
        if (partitions.isEmpty()) {
            // Nothing to fetch: idle until a partition is added or the stream is reopened.
            scheduler.schedule(this::sendNext, maxWaitMs, TimeUnit.MILLISECONDS);
            return;
        }
        ReplicaFetchRequest.Builder request = ReplicaFetchRequest.newBuilder()
                .setReplicaId(nodeId)
                .setBrokerEpoch(brokerEpoch.getAsLong())
                .setMaxWaitMs(maxWaitMs)
                .setMaxBytes(maxBytes);
        long nowMs = System.nanoTime() / 1_000_000L;
        long nextBackoffEndMs = Long.MAX_VALUE;
        Map<PartitionId, SentFetch> sent = new HashMap<>();
        ReplicationQuota quota = replicas.followerQuota();
        long quotaNowMs = replicas.nowMs();
        for (Map.Entry<PartitionId, Integer> e : partitions.entrySet()) {
            Partition p = replicas.hostedOrNull(e.getKey());
            if (p == null) {
                continue;
            }
            Long until = backoffUntilMs.get(e.getKey());
            if (until != null && until > nowMs) {
                nextBackoffEndMs = Math.min(nextBackoffEndMs, until);
                continue;
            }
            // The follower throttle (KIP-73): a throttled partition this node is not in the ISR of sits out of
            // fetches while the throttled bytes received are over the rate.
            if (quota.isThrottled(e.getKey()) && !p.image().isr().contains(nodeId) && quota.isExceeded(quotaNowMs)) {
                quota.onHeldBack();
                nextBackoffEndMs = Math.min(nextBackoffEndMs, nowMs + THROTTLE_BACKOFF_MS);
                continue;
            }
            ReplicaLog partitionLog = p.replicaLog();
            long fetchOffset = partitionLog.logEndOffset();
            sent.put(e.getKey(), new SentFetch(fetchOffset, e.getValue()));
            request.addPartitions(PartitionFetch.newBuilder()
                    .setTopic(e.getKey().topic())
                    .setTopicId(Uuids.toProto(p.topicId()))
                    .setPartition(e.getKey().partition())
                    .setFetchOffset(fetchOffset)
                    .setLastFetchedEpoch(partitionLog.latestEpoch().orElse(-1))
                    .setLogStartOffset(partitionLog.logStartOffset())
                    .setCurrentLeaderEpoch(e.getValue()));
        }
        if (sent.isEmpty()) {
            // Every partition is backing off after an error or held back by the throttle: fetch again when the
            // first one may.
            long delayMs = nextBackoffEndMs == Long.MAX_VALUE ? maxWaitMs : Math.max(1, nextBackoffEndMs - nowMs);
            scheduler.schedule(this::sendNext, delayMs, TimeUnit.MILLISECONDS);
            return;
        }
        inFlight = sent;
        try {
            current.onNext(request.build());
        } catch (RuntimeException e) {
            log.debug("node={} cannot send a fetch to leader {}: {}", nodeId, leaderId, e.toString());
        }
    }

    /**
     * Applies the answer to the fetch in flight, partition by partition, each only if the partition still follows
     * this leader in the epoch and from the offset the fetch was sent with ({@link Partition#applyFetch}). A
     * partition whose answer is an error sits out of fetches for {@link #backoffMs}.
     */
    private void apply(ReplicaFetchResponse response) {
        Map<PartitionId, SentFetch> sent = inFlight;
        long nowMs = System.nanoTime() / 1_000_000L;
        for (PartitionData data : response.getPartitionsList()) {
            PartitionId id = new PartitionId(data.getTopic(), data.getPartition());
            SentFetch fetch = sent.get(id);
            Integer followedEpoch = partitions.get(id);
            Partition p = replicas.hostedOrNull(id);
            if (fetch == null || followedEpoch == null || followedEpoch != fetch.leaderEpoch() || p == null) {
                continue;
            }
            try {
                Partition.Applied applied = p.applyFetch(leaderId, fetch.leaderEpoch(), fetch.fetchOffset(),
                        answerOf(data));
                if (applied == Partition.Applied.ERROR) {
                    log.debug("node={} fetch of {} from leader {}: {}", nodeId, id, leaderId, data.getError());
                    backoffUntilMs.put(id, nowMs + backoffMs(data.getError()));
                } else {
                    backoffUntilMs.remove(id);
                }
                ReplicationQuota quota = replicas.followerQuota();
                if (applied == Partition.Applied.APPLIED && quota.isThrottled(id)) {
                    quota.record(data.getRecords().size(), replicas.nowMs());
                }
                if (data.hasDivergingEpoch() && applied == Partition.Applied.APPLIED) {
                    log.info("node={} {} diverges from leader {} at epoch {}: truncated from {} to {}", nodeId, id,
                            leaderId, data.getDivergingEpoch().getEpoch(), fetch.fetchOffset(),
                            p.replicaLog().logEndOffset());
                }
            } catch (java.io.IOException | RuntimeException e) {
                log.error("node={} cannot apply leader {}'s data for {}", nodeId, leaderId, id, e);
                backoffUntilMs.put(id, nowMs + ERROR_BACKOFF_MS);
            }
        }
    }

    /** How long a partition sits out of fetches after its answer was {@code error}. */
    static long backoffMs(ReplicaFetchError error) {
        return switch (error) {
            case NOT_LEADER, UNKNOWN_LEADER_EPOCH, FENCED_LEADER_EPOCH, STALE_BROKER_EPOCH -> METADATA_LAG_BACKOFF_MS;
            default -> ERROR_BACKOFF_MS;
        };
    }

    private static FetchAnswer answerOf(PartitionData data) {
        EpochEndOffset diverging = data.hasDivergingEpoch()
                ? new EpochEndOffset(data.getDivergingEpoch().getEpoch(), data.getDivergingEpoch().getEndOffset())
                : null;
        return new FetchAnswer(data.getError(), data.getHighWatermark(), data.getLogStartOffset(), diverging,
                data.getRecords().asReadOnlyByteBuffer());
    }

    @Override
    public void close() {
        closed = true;
        synchronized (this) {
            if (stream != null) {
                try {
                    stream.onCompleted();
                } catch (RuntimeException ignored) {
                    // The stream may already be broken.
                }
                stream = null;
            }
        }
        channel.shutdownNow();
    }

    List<PartitionId> partitions() {
        return List.copyOf(partitions.keySet());
    }
}
