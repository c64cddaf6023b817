package io.tributary.node.txn;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.stub.StreamObserver;
import io.tributary.metadata.BrokerRegistration;
import io.tributary.metadata.MetadataImage;
import io.tributary.metadata.TopicImage;
import io.tributary.proto.txn.MarkerPartition;
import io.tributary.proto.txn.TransactionMarkerServiceGrpc;
import io.tributary.proto.txn.WriteMarkersRequest;
import io.tributary.proto.txn.WriteMarkersResponse;
import io.tributary.replication.ReplicaManager;
import java.io.Closeable;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.protocol.Errors;

/**
 * The coordinator's end of marker delivery (Kafka's TransactionMarkerChannelManager): sends a transaction's markers
 * to each partition's current leader, this node's own partitions through the local {@link TransactionMarkerWriter},
 * the others over gRPC to the leader's replication port, and sorts the answers as Kafka's
 * TransactionMarkerRequestCompletionHandler does. Holds one channel per peer node (bounded by the cluster's size).
 * Thread-safe.
 */
public class TransactionMarkerSender implements Closeable {

    private static final long DEADLINE_MS = 15_000;

    /**
     * @param written the partitions done: written, stale (INVALID_PRODUCER_EPOCH, UNKNOWN_PRODUCER_ID: a newer
     *     epoch of the producer already wrote there) or gone (the topic was deleted)
     * @param fenced a leader knows a newer coordinator epoch: this coordinator must stop
     */
    public record Result(Set<TopicPartition> written, boolean fenced) {}

    private record Peer(String host, int port, ManagedChannel channel) {}

    private final int nodeId;
    private final TransactionMarkerWriter local;
    private final SslContext tls;
    private final Map<Integer, Peer> peers = new ConcurrentHashMap<>();
    private final ExecutorService localWrites = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "txn-marker-writes");
        t.setDaemon(true);
        return t;
    });

    /** @param tls the client side of inter-node TLS, or null for plaintext */
    public TransactionMarkerSender(int nodeId, TransactionMarkerWriter local, SslContext tls) {
        this.nodeId = nodeId;
        this.local = local;
        this.tls = tls;
    }

    /** Sends the markers of {@code m} for {@code partitions}; never completes exceptionally. */
    public CompletableFuture<Result> send(TransactionMarkers m, Collection<TopicPartition> partitions,
            MetadataImage image) {
        Set<TopicPartition> written = ConcurrentHashMap.newKeySet();
        Map<Integer, List<TopicPartition>> byLeader = new HashMap<>();
        for (TopicPartition tp : partitions) {
            TopicImage topic = image.topic(tp.topic());
            if (topic == null || tp.partition() >= topic.partitions().size()) {
                written.add(tp); // deleted: nothing to mark
                continue;
            }
            int leader = topic.partition(tp.partition()).leader();
            if (leader >= 0) {
                byLeader.computeIfAbsent(leader, l -> new ArrayList<>()).add(tp);
            }
        }
        boolean[] fenced = new boolean[1];
        List<CompletableFuture<Void>> calls = new ArrayList<>();
        for (Map.Entry<Integer, List<TopicPartition>> e : byLeader.entrySet()) {
            CompletableFuture<Map<TopicPartition, Errors>> answer = e.getKey() == nodeId
                    ? CompletableFuture.supplyAsync(() -> local.write(m.producerId(), m.producerEpoch(),
                            commit(m), m.coordinatorEpoch(), e.getValue()), localWrites).thenCompose(f -> f)
                    : remote(e.getKey(), image, m, e.getValue());
            calls.add(answer.handle((errors, failure) -> {
                if (failure == null) {
                    for (Map.Entry<TopicPartition, Errors> r : errors.entrySet()) {
                        switch (r.getValue()) {
                            case NONE, INVALID_PRODUCER_EPOCH, UNKNOWN_PRODUCER_ID -> written.add(r.getKey());
                            case TRANSACTION_COORDINATOR_FENCED -> {
                                synchronized (fenced) {
                                    fenced[0] = true;
                                }
                            }
                            default -> { } // retried: not the leader any more, too small an ISR, a timeout
                        }
                    }
                }
                return null;
            }));
        }
        return CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).thenApply(v -> {
            synchronized (fenced) {
                return new Result(new HashSet<>(written), fenced[0]);
            }
        });
    }

    private static boolean commit(TransactionMarkers m) {
        return m.result() == org.apache.kafka.common.requests.TransactionResult.COMMIT;
    }

    private CompletableFuture<Map<TopicPartition, Errors>> remote(int leader, MetadataImage image,
            TransactionMarkers m, List<TopicPartition> partitions) {
        ManagedChannel channel = channel(leader, image);
        if (channel == null) {
            return CompletableFuture.completedFuture(Map.of());
        }
        WriteMarkersRequest.Builder request = WriteMarkersRequest.newBuilder().setProducerId(m.producerId())
                .setProducerEpoch(m.producerEpoch()).setCommit(commit(m)).setCoordinatorEpoch(m.coordinatorEpoch());
        for (TopicPartition tp : partitions) {
            request.addPartitions(MarkerPartition.newBuilder().setTopic(tp.topic()).setPartition(tp.partition()));
        }
        CompletableFuture<Map<TopicPartition, Errors>> answer = new CompletableFuture<>();
        TransactionMarkerServiceGrpc.newStub(channel).withDeadlineAfter(DEADLINE_MS, TimeUnit.MILLISECONDS)
                .writeMarkers(request.build(), new StreamObserver<>() {
                    @Override
                    public void onNext(WriteMarkersResponse response) {
                        answer.complete(TransactionMarkerGrpcService.errors(response));
                    }

                    @Override
                    public void onError(Throwable t) {
                        answer.complete(Map.of());
                    }

                    @Override
                    public void onCompleted() {
                        answer.complete(Map.of());
                    }
                });
        return answer;
    }

    /** The channel to a peer's replication endpoint, rebuilt if the peer moved; null if it has none. */
    private ManagedChannel channel(int node, MetadataImage image) {
        BrokerRegistration broker = image.brokers().get(node);
        BrokerRegistration.BrokerEndpoint endpoint = broker == null ? null
                : broker.endpoint(ReplicaManager.REPLICATION_ENDPOINT).orElse(null);
        if (endpoint == null) {
            return null;
        }
        Peer peer = peers.compute(node, (n, old) -> {
            if (old != null && old.host().equals(endpoint.host()) && old.port() == endpoint.port()) {
                return old;
            }
            if (old != null) {
                old.channel().shutdown();
            }
            NettyChannelBuilder builder = NettyChannelBuilder.forAddress(endpoint.host(), endpoint.port());
            if (tls != null) {
                builder.sslContext(tls);
            } else {
                builder.usePlaintext();
            }
            return new Peer(endpoint.host(), endpoint.port(), builder.maxInboundMessageSize(4 << 20).build());
        });
        return peer.channel();
    }

    @Override
    public void close() {
        localWrites.shutdownNow();
        for (Peer peer : peers.values()) {
            peer.channel().shutdownNow();
        }
        peers.clear();
    }
}
