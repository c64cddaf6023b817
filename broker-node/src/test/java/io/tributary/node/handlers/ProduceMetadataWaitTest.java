package io.tributary.node.handlers;

import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.metadata.BrokerLifecycle;
import io.tributary.metadata.MetadataImage;
import io.tributary.metadata.MetadataView;
import io.tributary.metadata.Uuids;
import io.tributary.node.NodeConfig;
import io.tributary.node.metrics.NodeMetrics;
import io.tributary.node.security.NodeAuthorizer;
import io.tributary.proto.metadata.MetadataRecord;
import io.tributary.proto.metadata.PartitionRecord;
import io.tributary.proto.metadata.RegisterBrokerRecord;
import io.tributary.proto.metadata.CreateTopicRecord;
import io.tributary.proto.metadata.UnfenceBrokerRecord;
import io.tributary.replication.PartitionId;
import io.tributary.replication.ReplicaManager;
import io.tributary.replication.ReplicationConfig;
import io.tributary.storage.LogConfig;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.message.ProduceRequestData;
import org.apache.kafka.common.message.ProduceResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.SimpleRecord;
import org.apache.kafka.common.requests.RequestHeader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A produce that reaches node 1 before node 1 acts on metadata a client already has: node 1's newest image makes
 * it the leader while its replica manager has not applied that image (in a node, new logs are opened first), or
 * node 1's metadata does not show the topic yet. The request waits for the node to catch up and is appended, rather
 * than answered NOT_LEADER_OR_FOLLOWER or UNKNOWN_TOPIC_OR_PARTITION while the producer's pipelined next batch, at a
 * later sequence, is taken first (CI at ce94428: StreamsIT's first batch then retried OUT_OF_ORDER_SEQUENCE until it
 * expired). A partition led elsewhere is still answered at once.
 */
class ProduceMetadataWaitTest {
    private static final int LOCAL = 1;
    private static final int OTHER = 2;
    private static final String TOPIC = "t";
    private static final UUID TOPIC_ID = UUID.randomUUID();

    @TempDir
    Path dir;
    private final View view = new View();
    private final ExecutorService ioThread = Executors.newSingleThreadExecutor();
    private ReplicaManager replicas;
    private BrokerLifecycle lifecycle;
    private ProduceHandler handler;

    @BeforeEach
    void open() throws Exception {
        replicas = new ReplicaManager(LOCAL, dir, LogConfig.DEFAULTS, Clock.systemUTC(), ReplicationConfig.DEFAULTS);
        lifecycle = new BrokerLifecycle(LOCAL, List.of(), null, view, 250);
        lifecycle.setPublishedOffset(() -> replicas.image().offset());
        replicas.setNewestImage(lifecycle::image);
        NodeAuthorizer authorizer = new NodeAuthorizer(new NodeConfig.Authorization(false, Set.of(), false),
                view::image);
        handler = new ProduceHandler(new NodeServices(null, "cluster", lifecycle, null, replicas, null,
                new NodeMetrics(LOCAL, replicas, null, () -> false, null), authorizer, null), ioThread);
    }

    @AfterEach
    void close() {
        ioThread.shutdownNow();
        lifecycle.close();
        replicas.close();
    }

    @Test
    void aLeadershipTheNodeHasNotTakenYetIsWaitedForAndTheBatchAppended() throws Exception {
        // Given node 1's newest image makes it the leader, and its replica manager has not acted on that image
        MetadataImage ledHere = image(LOCAL);
        view.set(ledHere);
        assertThat(replicas.leadershipPending(new PartitionId(TOPIC, 0))).isTrue();

        // When an idempotent producer's batch (a later sequence, as a pipelined second request has) arrives
        CompletableFuture<ApiMessage> answer = produce(30_000, 515);

        // Then it waits for the leadership rather than being refused, and is appended once the node takes it
        assertThat(answer).as("answered before the node led the partition").isNotDone();
        replicas.onImage(MetadataImage.EMPTY, ledHere);
        lifecycle.onPublished();
        ProduceResponseData.PartitionProduceResponse p = partition(answer);
        assertThat(Errors.forCode(p.errorCode())).isEqualTo(Errors.NONE);
        assertThat(p.baseOffset()).isZero();
        assertThat(replicas.leadershipPending(new PartitionId(TOPIC, 0))).isFalse();
    }

    @Test
    void aTopicTheNodeDoesNotShowYetIsWaitedFor() throws Exception {
        // Given node 1 has not seen the topic a client learnt of from a node ahead of it
        view.set(brokers());
        CompletableFuture<ApiMessage> answer = produce(30_000, 0);
        assertThat(answer).isNotDone();

        // When node 1's metadata shows it, with node 1 the leader, and its replicas act on it
        MetadataImage ledHere = image(LOCAL);
        view.set(ledHere);
        replicas.onImage(MetadataImage.EMPTY, ledHere);
        lifecycle.onPublished();

        // Then the batch is appended
        assertThat(Errors.forCode(partition(answer).errorCode())).isEqualTo(Errors.NONE);
    }

    @Test
    void aPartitionLedElsewhereIsRefusedAtOnceAndAnUnknownTopicWithinTheRequestTimeout() throws Exception {
        applied(image(OTHER));
        CompletableFuture<ApiMessage> refused = produce(30_000, 0);
        assertThat(refused).as("no wait for a leader elsewhere").isDone();
        assertThat(Errors.forCode(partition(refused).errorCode())).isEqualTo(Errors.NOT_LEADER_OR_FOLLOWER);

        // A topic that never appears: answered when the (short) request timeout ends the wait
        view.set(brokers());
        assertThat(Errors.forCode(partition(produce(200, 0)).errorCode()))
                .isEqualTo(Errors.UNKNOWN_TOPIC_OR_PARTITION);
    }

    @Test
    void aProduceRunsOnTheNetworkThreadUnlessItsAppendMayFsync() throws Exception {
        applied(image(LOCAL));
        assertThat(handler.runsOnNetworkThread(context(), request(30_000, 0)))
                .as("an append to the page cache only").isTrue();

        // log.flush.interval.messages set: an append may fsync, which must not stall the connection's event loop
        replicas.partition(new PartitionId(TOPIC, 0)).log().setFlushIntervalMessages(1_000);
        assertThat(handler.runsOnNetworkThread(context(), request(30_000, 0))).isFalse();
        // A topic this node does not know yet is waited for (a future), so that alone does not keep it off
        view.set(brokers());
        assertThat(handler.runsOnNetworkThread(context(), request(30_000, 0))).isTrue();
    }

    /** Node 1's newest image, acted on by its replicas. */
    private void applied(MetadataImage image) {
        view.set(image);
        replicas.onImage(MetadataImage.EMPTY, image);
        lifecycle.onPublished();
    }

    private CompletableFuture<ApiMessage> produce(int timeoutMs, int baseSequence) {
        return handler.handle(context(), request(timeoutMs, baseSequence));
    }

    private static RequestContext context() {
        return new RequestContext(new RequestHeader(ApiKeys.PRODUCE, (short) 9, "test", 1), "127.0.0.1:5555");
    }

    private static ProduceRequestData request(int timeoutMs, int baseSequence) {
        MemoryRecords records = MemoryRecords.withIdempotentRecords(Compression.NONE, 7L, (short) 0, baseSequence,
                new SimpleRecord("a".getBytes()), new SimpleRecord("b".getBytes()));
        ProduceRequestData request = new ProduceRequestData().setAcks((short) 1).setTimeoutMs(timeoutMs);
        ProduceRequestData.TopicProduceData topic = new ProduceRequestData.TopicProduceData().setName(TOPIC);
        topic.partitionData().add(new ProduceRequestData.PartitionProduceData().setIndex(0).setRecords(records));
        request.topicData().add(topic);
        return request;
    }

    private static ProduceResponseData.PartitionProduceResponse partition(CompletableFuture<ApiMessage> answer)
            throws Exception {
        ProduceResponseData response = (ProduceResponseData) answer.get(20, TimeUnit.SECONDS);
        return response.responses().iterator().next().partitionResponses().get(0);
    }

    /** Broker 2 registered and unfenced (offsets 1-2). */
    private static MetadataImage brokers() {
        MetadataImage image = MetadataImage.EMPTY.apply(MetadataRecord.newBuilder().setRegisterBroker(
                RegisterBrokerRecord.newBuilder().setBrokerId(OTHER).setIncarnationId("i2")).build(), 1);
        return image.apply(MetadataRecord.newBuilder().setUnfenceBroker(UnfenceBrokerRecord.newBuilder()
                .setBrokerId(OTHER).setBrokerEpoch(image.brokers().get(OTHER).brokerEpoch())).build(), 2);
    }

    /** {@link #brokers} and topic {@code t}, one partition on nodes 1 and 2, led by {@code leader} (offset 3). */
    private static MetadataImage image(int leader) {
        return brokers().apply(MetadataRecord.newBuilder().setCreateTopic(CreateTopicRecord.newBuilder()
                .setName(TOPIC).setTopicId(Uuids.toProto(TOPIC_ID))
                .addPartitions(PartitionRecord.newBuilder().setPartition(0).setLeader(leader).setLeaderEpoch(0)
                        .setPartitionEpoch(0).addAllReplicas(List.of(LOCAL, OTHER)).addAllIsr(List.of(LOCAL, OTHER))))
                .build(), 3);
    }

    /** A voter's own view of the metadata, set by the test: the newest image, before the replicas act on it. */
    private static final class View implements MetadataView {
        private volatile MetadataImage image = MetadataImage.EMPTY;
        private final List<MetadataListener> listeners = new CopyOnWriteArrayList<>();

        void set(MetadataImage next) {
            MetadataImage previous = image;
            image = next;
            for (MetadataListener l : listeners) {
                l.onImage(previous, next);
            }
        }

        @Override
        public MetadataImage image() {
            return image;
        }

        @Override
        public void addListener(MetadataListener listener) {
            listeners.add(listener);
            listener.onImage(MetadataImage.EMPTY, image);
        }
    }
}
