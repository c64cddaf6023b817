package io.tributary.bench;

import io.tributary.metadata.BrokerLifecycle;
import io.tributary.metadata.MetadataImage;
import io.tributary.metadata.MetadataView;
import io.tributary.metadata.Uuids;
import io.tributary.node.NodeConfig;
import io.tributary.node.handlers.NodeServices;
import io.tributary.node.metrics.NodeMetrics;
import io.tributary.node.network.RequestMemoryPool;
import io.tributary.node.security.NodeAuthorizer;
import io.tributary.proto.metadata.CreateTopicRecord;
import io.tributary.proto.metadata.MetadataRecord;
import io.tributary.proto.metadata.PartitionRecord;
import io.tributary.replication.PartitionId;
import io.tributary.replication.ReplicaManager;
import io.tributary.replication.ReplicationConfig;
import io.tributary.storage.LogConfig;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.SimpleRecord;

/**
 * One node (id 1) leading one single-replica partition, with the real replica manager, log, metadata view and
 * request handlers' services: what a produce or a consumer fetch reaches once its request is decoded. The log lives
 * in a temporary directory (node defaults: 1 GiB segments, no timed fsync) deleted by {@link #close}.
 */
final class Fixture implements AutoCloseable {
    static final int NODE = 1;
    static final String TOPIC = "bench";
    static final PartitionId PARTITION = new PartitionId(TOPIC, 0);
    static final UUID TOPIC_ID = UUID.randomUUID();

    final Path dir;
    final ReplicaManager replicas;
    final BrokerLifecycle metadata;
    final NodeServices services;

    Fixture() throws IOException {
        dir = Files.createTempDirectory("tributary-jmh");
        replicas = new ReplicaManager(NODE, dir.resolve("logs"), LogConfig.DEFAULTS, Clock.systemUTC(),
                ReplicationConfig.DEFAULTS);
        MetadataImage image = MetadataImage.EMPTY.apply(MetadataRecord.newBuilder().setCreateTopic(
                CreateTopicRecord.newBuilder().setName(TOPIC).setTopicId(Uuids.toProto(TOPIC_ID))
                        .addPartitions(PartitionRecord.newBuilder().setPartition(0).setLeader(NODE).setLeaderEpoch(0)
                                .setPartitionEpoch(0).addReplicas(NODE).addIsr(NODE)))
                .build(), 1);
        replicas.onImage(MetadataImage.EMPTY, image);
        MetadataView view = new MetadataView() {
            @Override
            public MetadataImage image() {
                return image;
            }

            @Override
            public void addListener(MetadataListener listener) {
                listener.onImage(MetadataImage.EMPTY, image);
            }
        };
        metadata = new BrokerLifecycle(NODE, List.of(), null, view, 250);
        metadata.setPublishedOffset(() -> replicas.image().offset());
        replicas.setNewestImage(metadata::image);
        Properties props = new Properties();
        props.setProperty("node.id", Integer.toString(NODE));
        props.setProperty("data.dir", dir.toString());
        NodeConfig config = NodeConfig.from(props);
        services = new NodeServices(config, "bench", metadata, null, replicas, null,
                new NodeMetrics(NODE, replicas, null, () -> false, null),
                new NodeAuthorizer(new NodeConfig.Authorization(false, Set.of(), false), metadata::image),
                new RequestMemoryPool(config.queuedMaxRequestBytes()));
    }

    /** A batch of {@code count} records of {@code size} random bytes each, as a producer sends it (no key). */
    static ByteBuffer batch(int count, int size, long seed) {
        java.util.Random random = new java.util.Random(seed);
        List<SimpleRecord> records = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            byte[] value = new byte[size];
            random.nextBytes(value);
            records.add(new SimpleRecord(System.currentTimeMillis(), null, value));
        }
        return MemoryRecords.withRecords(Compression.NONE, records.toArray(SimpleRecord[]::new)).buffer();
    }

    @Override
    public void close() throws IOException {
        metadata.close();
        replicas.close();
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
