package io.tributary.replication;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.tributary.metadata.MetadataImage;
import io.tributary.proto.replication.PartitionFetch;
import io.tributary.proto.replication.ReplicaFetchError;
import io.tributary.proto.replication.ReplicaFetchRequest;
import io.tributary.proto.replication.ReplicaFetchResponse;
import io.tributary.proto.replication.ReplicationServiceGrpc;
import io.tributary.storage.LogConfig;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.SimpleRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The leader's replication endpoint bounds what a peer can make it hold, whatever the peer asks for: one fetch in
 * flight per stream, a cap on open streams, an answer's bytes and a fetch's wait. Real gRPC over a socket.
 */
class ReplicationServiceBoundsTest {

    private static final int FOLLOWER = TwoBrokerImages.FOLLOWER;
    private static final PartitionId TP = new PartitionId("t", 0);

    @TempDir
    Path dir;
    private ReplicaManager replicas;
    private long followerEpoch;
    private Server server;
    private ManagedChannel channel;
    private ReplicationService service;

    @BeforeEach
    void open() throws java.io.IOException {
        replicas = new ReplicaManager(TwoBrokerImages.LEADER, dir, LogConfig.DEFAULTS, Clock.systemUTC(),
                ReplicationConfig.DEFAULTS);
        replicas.setController((topicId, partition, proposal) -> new java.util.concurrent.CompletableFuture<>(),
                () -> 1);
        MetadataImage image = TwoBrokerImages.ledByOne(TP, List.of(TwoBrokerImages.LEADER, FOLLOWER));
        followerEpoch = image.brokers().get(FOLLOWER).brokerEpoch();
        replicas.onImage(MetadataImage.EMPTY, image);
    }

    private void serve(ReplicationService s) throws Exception {
        service = s;
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(s).build().start();
        channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
    }

    @AfterEach
    void close() throws Exception {
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (server != null) {
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        replicas.close();
    }

    @Test
    void pipelinedFetchesOnOneStreamAreAnsweredOneAtATime() throws Exception {
        serve(new ReplicationService(replicas));
        long end = append(2);
        Answers answers = new Answers();
        StreamObserver<ReplicaFetchRequest> stream = ReplicationServiceGrpc.newStub(channel).fetch(answers);
        // A: at the log end, waits for data. B: from 0, has data at once. Sent back to back, without waiting.
        stream.onNext(fetch(end, 60_000, 1 << 20));
        stream.onNext(fetch(0, 60_000, 1 << 20));
        stream.onNext(fetch(0, 60_000, 1 << 20));

        await().atMost(Duration.ofSeconds(10)).until(() -> replicas.fetchWaiters() == 1);
        assertThat(answers.received).as("B is not read while A waits, so it is not answered before A").isEmpty();
        assertThat(service.openStreams()).isEqualTo(1);

        append(1); // wakes A; then B and C are read and answered, one at a time
        await().atMost(Duration.ofSeconds(10)).until(() -> answers.received.size() == 3);
        assertThat(firstOffset(answers.received.get(0))).as("A's answer comes first").isEqualTo(end);
        assertThat(firstOffset(answers.received.get(1))).isZero();
        assertThat(firstOffset(answers.received.get(2))).isZero();
        assertThat(replicas.fetchWaiters()).isZero();

        stream.onCompleted();
        await().atMost(Duration.ofSeconds(10)).until(() -> service.openStreams() == 0);
    }

    @Test
    void moreStreamsThanTheCapAreRefusedAndAClosedOneFreesItsPlace() throws Exception {
        serve(new ReplicationService(replicas, 1 << 20, 1, 1_000));
        append(1);
        Answers first = new Answers();
        StreamObserver<ReplicaFetchRequest> one = ReplicationServiceGrpc.newStub(channel).fetch(first);
        one.onNext(fetch(0, 0, 1 << 20));
        await().atMost(Duration.ofSeconds(10)).until(() -> first.received.size() == 1);

        Answers second = new Answers();
        StreamObserver<ReplicaFetchRequest> two = ReplicationServiceGrpc.newStub(channel).fetch(second);
        two.onNext(fetch(0, 0, 1 << 20));
        await().atMost(Duration.ofSeconds(10)).until(() -> second.error != null);
        assertThat(Status.fromThrowable(second.error).getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(second.received).isEmpty();
        assertThat(service.refusedStreams()).isEqualTo(1);
        assertThat(service.openStreams()).isEqualTo(1);

        one.onCompleted();
        await().atMost(Duration.ofSeconds(10)).until(() -> service.openStreams() == 0);
        Answers third = new Answers();
        ReplicationServiceGrpc.newStub(channel).fetch(third).onNext(fetch(0, 0, 1 << 20));
        await().atMost(Duration.ofSeconds(10)).until(() -> third.received.size() == 1);
        assertThat(third.received.get(0).getPartitions(0).getError()).isEqualTo(ReplicaFetchError.NONE);
    }

    @Test
    void anAnswerHoldsAtMostTheResponseLimitPlusOneBatchWhateverThePeerAsksFor() throws Exception {
        serve(new ReplicationService(replicas, 1024, 4, 1_000));
        int batchBytes = 0;
        for (int i = 0; i < 10; i++) {
            batchBytes = appendBatch(600);
        }
        long total = replicas.partition(TP).replicaLog().logEndOffset();
        assertThat(total).isEqualTo(10);
        Answers answers = new Answers();
        ReplicationServiceGrpc.newStub(channel).fetch(answers).onNext(fetch(0, 0, Integer.MAX_VALUE));
        await().atMost(Duration.ofSeconds(10)).until(() -> answers.received.size() == 1);
        int bytes = answers.received.get(0).getPartitions(0).getRecords().size();
        assertThat(bytes).isPositive().isLessThanOrEqualTo(1024 + batchBytes);
    }

    @Test
    void aFetchWaitsAtMostTheServersLimitWhateverThePeerAsksFor() throws Exception {
        serve(new ReplicationService(replicas, 1 << 20, 4, 200));
        long end = append(1);
        Answers answers = new Answers();
        // Ten minutes asked; the answer (empty) comes after the server's 200 ms.
        ReplicationServiceGrpc.newStub(channel).fetch(answers).onNext(fetch(end, 600_000, 1 << 20));
        await().atMost(Duration.ofSeconds(10)).until(() -> answers.received.size() == 1);
        assertThat(answers.received.get(0).getPartitions(0).getRecords().isEmpty()).isTrue();
        assertThat(replicas.fetchWaiters()).isZero();
    }

    private long append(int records) throws Exception {
        SimpleRecord[] rs = new SimpleRecord[records];
        for (int i = 0; i < records; i++) {
            rs[i] = new SimpleRecord(("v" + i).getBytes());
        }
        replicas.appendAsLeader(TP, -1, MemoryRecords.withRecords(Compression.NONE, rs).buffer(), 1);
        return replicas.partition(TP).replicaLog().logEndOffset();
    }

    /** Appends one batch of one record with a {@code valueBytes} value; returns the batch's size. */
    private int appendBatch(int valueBytes) throws Exception {
        ByteBuffer batch = MemoryRecords.withRecords(Compression.NONE, new SimpleRecord(new byte[valueBytes]))
                .buffer();
        int size = batch.remaining();
        replicas.appendAsLeader(TP, -1, batch, 1);
        return size;
    }

    private ReplicaFetchRequest fetch(long offset, int maxWaitMs, int maxBytes) {
        return ReplicaFetchRequest.newBuilder().setReplicaId(FOLLOWER).setBrokerEpoch(followerEpoch)
                .setMaxWaitMs(maxWaitMs).setMaxBytes(maxBytes)
                .addPartitions(PartitionFetch.newBuilder().setTopic(TP.topic()).setPartition(TP.partition())
                        .setFetchOffset(offset).setLastFetchedEpoch(offset == 0 ? -1 : 1).setCurrentLeaderEpoch(1))
                .build();
    }

    private static long firstOffset(ReplicaFetchResponse response) {
        MemoryRecords records = MemoryRecords.readableRecords(
                response.getPartitions(0).getRecords().asReadOnlyByteBuffer());
        return records.batches().iterator().next().baseOffset();
    }

    private static final class Answers implements StreamObserver<ReplicaFetchResponse> {
        final List<ReplicaFetchResponse> received = new CopyOnWriteArrayList<>();
        volatile Throwable error;

        @Override
        public void onNext(ReplicaFetchResponse value) {
            received.add(value);
        }

        @Override
        public void onError(Throwable t) {
            error = t;
        }

        @Override
        public void onCompleted() {
        }
    }
}
