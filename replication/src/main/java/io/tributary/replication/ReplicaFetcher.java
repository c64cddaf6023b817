package io.tributary.replication;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.tributary.metadata.Uuids;
import io.tributary.proto.replication.PartitionData;
import io.tributary.proto.replication.PartitionFetch;
import io.tributary.proto.replication.ReplicaFetchError;
import io.tributary.proto.replication.ReplicaFetchRequest;
import io.tributary.proto.replication.ReplicaFetchResponse;
import io.tributary.proto.replication.ReplicationServiceGrpc;
import io.tributary.replication.log.EpochEndOffset;
import io.tributary.replication.log.PartitionLog;
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
 * <p>Threads: gRPC callback threads run the answers; {@link #set}/{@link #remove} may be called from any thread.
 * Lifecycle: created when this node first follows a partition of the leader; {@link #close} when it follows none.
 */
final class ReplicaFetcher implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ReplicaFetcher.class);
    private static final long RECONNECT_BACKOFF_MS = 500;

    private final int nodeId;
    private final int leaderId;
    private final ManagedChannel channel;
    private final ReplicaManager replicas;
    private final ScheduledExecutorService scheduler;
    private final LongSupplier brokerEpoch;
    private final int maxWaitMs;
    private final int maxBytes;
    /** Followed partitions with the leader epoch this node believes in. */
    private final Map<PartitionId, Integer> partitions = new ConcurrentHashMap<>();
    private StreamObserver<ReplicaFetchRequest> stream;
    private volatile boolean closed;

    ReplicaFetcher(int nodeId, int leaderId, String host, int port, ReplicaManager replicas,
            ScheduledExecutorService scheduler, LongSupplier brokerEpoch, int maxWaitMs, int maxBytes) {
        this.nodeId = nodeId;
        this.leaderId = leaderId;
        this.channel = NettyChannelBuilder.forAddress(host, port).usePlaintext()
                .maxInboundMessageSize(Math.max(maxBytes * 2, 4 << 20)).build();
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
    }

    boolean isEmpty() {
        return partitions.isEmpty();
    }

    private synchronized void open() {
        if (closed) {
            return;
        }
        stream = ReplicationServiceGrpc.newStub(channel).fetch(new StreamObserver<>() {
            @Override
            public void onNext(ReplicaFetchResponse response) {
                try {
                    apply(response);
                } catch (RuntimeException e) {
                    log.error("node={} failed to apply a fetch from leader {}", nodeId, leaderId, e);
                }
                scheduleNext(0);
            }

            @Override
            public void onError(Throwable t) {
                log.debug("node={} fetch stream to leader {} failed: {}", nodeId, leaderId, t.toString());
                reopenLater();
            }

            @Override
            public void onCompleted() {
                reopenLater();
            }
        });
        sendNext();
    }

    private void reopenLater() {
        synchronized (this) {
            stream = null;
        }
        if (!closed) {
            scheduler.schedule(() -> {
                synchronized (this) {
                    if (stream == null && !partitions.isEmpty()) {
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
        for (Map.Entry<PartitionId, Integer> e : partitions.entrySet()) {
            Partition p = replicas.hostedOrNull(e.getKey());
            if (p == null) {
                continue;
            }
            PartitionLog partitionLog = p.log();
            request.addPartitions(PartitionFetch.newBuilder()
                    .setTopic(e.getKey().topic())
                    .setTopicId(Uuids.toProto(p.topicId()))
                    .setPartition(e.getKey().partition())
                    .setFetchOffset(partitionLog.logEndOffset())
                    .setLastFetchedEpoch(partitionLog.latestEpoch().orElse(-1))
                    .setCurrentLeaderEpoch(e.getValue()));
        }
        try {
            current.onNext(request.build());
        } catch (RuntimeException e) {
            log.debug("node={} cannot send a fetch to leader {}: {}", nodeId, leaderId, e.toString());
        }
    }

    private void apply(ReplicaFetchResponse response) {
        for (PartitionData data : response.getPartitionsList()) {
            PartitionId id = new PartitionId(data.getTopic(), data.getPartition());
            if (!partitions.containsKey(id)) {
                continue;
            }
            Partition p = replicas.hostedOrNull(id);
            if (p == null || p.isLeader()) {
                continue;
            }
            try {
                if (data.getError() == ReplicaFetchError.OFFSET_OUT_OF_RANGE) {
                    log.warn("node={} {} fell below leader {}'s log start {}: starting over there", nodeId, id,
                            leaderId, data.getLogStartOffset());
                    p.log().truncateFullyAndStartAt(data.getLogStartOffset());
                    p.onTruncate();
                } else if (data.getError() != ReplicaFetchError.NONE) {
                    log.debug("node={} fetch of {} from leader {}: {}", nodeId, id, leaderId, data.getError());
                } else if (data.hasDivergingEpoch()) {
                    truncateDivergence(p, data.getDivergingEpoch());
                } else {
                    ByteString records = data.getRecords();
                    if (!records.isEmpty()) {
                        p.log().appendAsFollower(records.asReadOnlyByteBuffer());
                    }
                    p.updateFollowerHighWatermark(data.getHighWatermark());
                }
            } catch (java.io.IOException | RuntimeException e) {
                log.error("node={} cannot apply leader {}'s data for {}", nodeId, leaderId, id, e);
            }
        }
    }

    private void truncateDivergence(Partition p, io.tributary.proto.replication.EpochEndOffset diverging)
            throws java.io.IOException {
        PartitionLog partitionLog = p.log();
        EpochEndOffset own = partitionLog.endOffsetForEpoch(diverging.getEpoch());
        long to;
        if (diverging.getEndOffset() < 0) {
            // The leader knows no epoch at or below ours (ours is newer than all of its): keep what is committed.
            to = Math.min(p.highWatermark(), partitionLog.logEndOffset());
        } else if (own.endOffset() < 0) {
            to = Math.min(diverging.getEndOffset(), partitionLog.logEndOffset());
        } else {
            to = Math.min(diverging.getEndOffset(), own.endOffset());
        }
        to = Math.max(to, partitionLog.logStartOffset());
        log.info("node={} {} diverges from leader {} at epoch {}: truncating from {} to {}", nodeId, p.id(),
                leaderId, diverging.getEpoch(), partitionLog.logEndOffset(), to);
        partitionLog.truncateTo(to);
        p.onTruncate();
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
