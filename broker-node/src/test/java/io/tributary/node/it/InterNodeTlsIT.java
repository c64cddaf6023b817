package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.tributary.node.it.KafkaRequests.PartitionState;
import io.tributary.proto.replication.PartitionFetch;
import io.tributary.proto.replication.ReplicaFetchRequest;
import io.tributary.proto.replication.ReplicaFetchResponse;
import io.tributary.proto.replication.ReplicationServiceGrpc;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.exceptions.AlreadyClosedException;
import org.apache.ratis.protocol.exceptions.RaftRetryFailureException;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.util.TimeDuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 11, inter-node part: with {@code inter.node.security.protocol=SSL} the nodes replicate and run the metadata
 * quorum over mutual TLS, and a process without a node certificate of the cluster CA gets nowhere: it cannot fetch
 * from a leader's replication port (so it cannot pose as a follower and move the high watermark), and it can neither
 * write to nor query the Ratis group (so it reaches neither the metadata state machine nor the controller).
 */
class InterNodeTlsIT {

    private static final int NODES = 3;
    private static final TestCerts CERTS = makeCerts();

    @RegisterExtension
    static final ClusterProcesses cluster = new ClusterProcesses(NODES, NODES, Map.of(
            "inter.node.security.protocol", "SSL",
            "inter.node.ssl.keystore.location", CERTS.nodeKeystore(1).toString(),
            "inter.node.ssl.keystore.password", CERTS.password(),
            "inter.node.ssl.truststore.location", CERTS.truststore().toString(),
            "inter.node.ssl.truststore.password", CERTS.password()));

    /** One node keystore for every node (any certificate of the cluster CA is a node's), made with keytool. */
    private static TestCerts makeCerts() {
        try {
            return TestCerts.make(Files.createTempDirectory("tributary-certs-"), 1);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void replicatesOverMutualTlsAndRefusesEveryProcessWithoutANodeCertificate() throws Exception {
        // Given a topic on all three nodes, written with acks=all and read back: replication works over TLS
        String topic = "secured";
        Clients.createTopic(cluster.bootstrap(), topic, 1, NODES);
        PartitionState partition = cluster.awaitFullIsr(topic, 0, Duration.ofSeconds(60));
        List<String> sent = new ArrayList<>();
        try (KafkaProducer<String, String> producer = Clients.producer(cluster.bootstrap(),
                Map.of(ProducerConfig.ACKS_CONFIG, "all"))) {
            for (int i = 0; i < 20; i++) {
                String value = "v" + i;
                producer.send(new ProducerRecord<>(topic, 0, "k", value)).get(Clients.CLIENT_DEADLINE.toSeconds(),
                        TimeUnit.SECONDS);
                sent.add(value);
            }
        }
        List<ConsumerRecord<String, String>> read = Clients.readFromBeginning(cluster.bootstrap(), topic, 1,
                sent.size());
        assertThat(read.stream().map(ConsumerRecord::value).toList()).isEqualTo(sent);
        assertThat(cluster.awaitFullIsr(topic, 0, Duration.ofSeconds(30)).isr()).hasSize(NODES);

        // When a process without a certificate fetches from the leader's replication port as a follower would,
        // in plaintext and over TLS without a client certificate
        int leaderReplicationPort = cluster.node(partition.leader()).replicationPort();
        int follower = partition.replicas().stream().filter(id -> id != partition.leader()).findFirst()
                .orElseThrow();
        ReplicaFetchRequest poseAsFollower = ReplicaFetchRequest.newBuilder().setReplicaId(follower)
                .setBrokerEpoch(0).setMaxWaitMs(0).setMaxBytes(1 << 20)
                .addPartitions(PartitionFetch.newBuilder().setTopic(topic).setPartition(0)
                        .setFetchOffset(sent.size()).setCurrentLeaderEpoch(partition.leaderEpoch()))
                .build();
        ManagedChannel plaintext = NettyChannelBuilder.forAddress("127.0.0.1", leaderReplicationPort)
                .usePlaintext().build();
        ManagedChannel tlsWithoutCertificate = NettyChannelBuilder.forAddress("127.0.0.1", leaderReplicationPort)
                .sslContext(GrpcSslContexts.forClient().trustManager(CERTS.caPem().toFile()).build())
                .build();
        try {
            // Then the connection fails before any answer: no data, no follower position recorded
            for (ManagedChannel channel : List.of(plaintext, tlsWithoutCertificate)) {
                assertThatThrownBy(() -> fetchOnce(channel, poseAsFollower))
                        .as("a fetch without a node certificate")
                        .hasCauseInstanceOf(StatusRuntimeException.class)
                        .satisfies(e -> assertThat(Status.fromThrowable(e).getCode())
                                .isEqualTo(Status.Code.UNAVAILABLE));
            }
        } finally {
            plaintext.shutdownNow();
            tlsWithoutCertificate.shutdownNow();
        }

        // And a Ratis client without a certificate can neither write an entry nor query the metadata state machine
        try (RaftClient stranger = plaintextRatisClient()) {
            // (it never gets an answer, not even the state machine's refusal: every attempt fails to connect)
            assertThatThrownBy(() -> stranger.async().send(Message.valueOf("garbage")).get(30, TimeUnit.SECONDS))
                    .as("a write to the metadata quorum without a certificate")
                    .satisfies(e -> assertThat(e.getCause()).isInstanceOfAny(RaftRetryFailureException.class,
                            AlreadyClosedException.class));
            assertThatThrownBy(() -> stranger.async().sendReadOnly(Message.valueOf("garbage"))
                    .get(30, TimeUnit.SECONDS))
                    .as("a query of the metadata quorum without a certificate")
                    .satisfies(e -> assertThat(e.getCause()).isInstanceOfAny(RaftRetryFailureException.class,
                            AlreadyClosedException.class));
        }

        // And the cluster is unharmed: every node healthy, the partition in full ISR, and writes still go through
        cluster.awaitHealthy();
        try (KafkaProducer<String, String> producer = Clients.producer(cluster.bootstrap(),
                Map.of(ProducerConfig.ACKS_CONFIG, "all"))) {
            producer.send(new ProducerRecord<>(topic, 0, "k", "after")).get(Clients.CLIENT_DEADLINE.toSeconds(),
                    TimeUnit.SECONDS);
        }
    }

    /** Sends one fetch on a new stream and waits for its answer; throws what the stream failed with. */
    private static ReplicaFetchResponse fetchOnce(ManagedChannel channel, ReplicaFetchRequest request)
            throws Exception {
        CompletableFuture<ReplicaFetchResponse> answer = new CompletableFuture<>();
        StreamObserver<ReplicaFetchRequest> stream = ReplicationServiceGrpc.newStub(channel)
                .withDeadlineAfter(20, TimeUnit.SECONDS)
                .fetch(new StreamObserver<>() {
                    @Override
                    public void onNext(ReplicaFetchResponse response) {
                        answer.complete(response);
                    }

                    @Override
                    public void onError(Throwable t) {
                        answer.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                        answer.completeExceptionally(new IllegalStateException("stream closed without an answer"));
                    }
                });
        stream.onNext(request);
        return answer.get(30, TimeUnit.SECONDS);
    }

    /** A Ratis client of the cluster's metadata group, without TLS, retrying a few times only. */
    private static RaftClient plaintextRatisClient() {
        RaftGroupId groupId = RaftGroupId.valueOf(
                UUID.nameUUIDFromBytes("tributary-metadata".getBytes(StandardCharsets.UTF_8)));
        List<RaftPeer> peers = List.of(cluster.voters().split(",")).stream().map(voter -> {
            String id = voter.substring(0, voter.indexOf('@'));
            return RaftPeer.newBuilder().setId(RaftPeerId.valueOf("node-" + id))
                    .setAddress(voter.substring(voter.indexOf('@') + 1)).build();
        }).collect(Collectors.toList());
        return RaftClient.newBuilder()
                .setProperties(new RaftProperties())
                .setRaftGroup(RaftGroup.valueOf(groupId, peers))
                .setRetryPolicy(RetryPolicies.retryUpToMaximumCountWithFixedSleep(3,
                        TimeDuration.valueOf(200, TimeUnit.MILLISECONDS)))
                .build();
    }
}
