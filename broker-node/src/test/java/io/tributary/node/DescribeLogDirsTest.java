package io.tributary.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.replication.Partition;
import io.tributary.replication.PartitionId;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.LogDirDescription;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.ReplicaInfo;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.message.DescribeLogDirsRequestData;
import org.apache.kafka.common.message.DescribeLogDirsResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DescribeLogDirs on a real node, through kafka-clients' {@code Admin.describeLogDirs} (what {@code kafka-log-dirs}
 * calls) and at the byte level: the node's log dir, each hosted replica's size on disk as its log holds it, offset
 * lag 0 on a leader, the file store's total and usable bytes (v4), and a request naming partitions gets only those.
 */
class DescribeLogDirsTest {
    private static final int NODE_ID = 1; // InProcessNode's

    private NodeWithAdmin started;
    private InProcessNode node;
    private Admin admin;
    private Path dataDir;

    @BeforeEach
    void start(@TempDir Path dataDir) throws Exception {
        this.dataDir = dataDir;
        started = NodeWithAdmin.start(dataDir, Map.of(), new NewTopic("sized", 2, (short) 1),
                new NewTopic("other", 1, (short) 1));
        node = started.node;
        admin = started.admin;
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
                .until(() -> node.replicas().partition(new PartitionId("sized", 0)).isLeader()
                        && node.replicas().partition(new PartitionId("sized", 1)).isLeader());
    }

    @AfterEach
    void stop() {
        if (started != null) {
            started.close();
        }
    }

    @Test
    void describesEachHostedReplicasSizeOnDiskInTheNodesLogDir() throws Exception {
        // Given: records in partition 0 of "sized", none in partition 1
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, node.bootstrap(),
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class))) {
            for (int i = 0; i < 20; i++) {
                producer.send(new ProducerRecord<>("sized", 0, null, "v".repeat(100))).get(30, TimeUnit.SECONDS);
            }
        }
        Partition written = node.replicas().partition(new PartitionId("sized", 0));

        // When: the admin client describes the node's log dirs
        Map<String, LogDirDescription> dirs = admin.describeLogDirs(List.of(NODE_ID)).allDescriptions()
                .get(30, TimeUnit.SECONDS).get(NODE_ID);

        // Then: one log dir, the node's, with real sizes, no lag on a leader and the disk's space
        assertThat(dirs).hasSize(1);
        String logDir = dirs.keySet().iterator().next();
        assertThat(Path.of(logDir)).isEqualTo(node.replicas().logsDir().toAbsolutePath());
        assertThat(Path.of(logDir)).startsWith(dataDir.toAbsolutePath());
        LogDirDescription dir = dirs.get(logDir);
        assertThat(dir.error()).isNull();
        ReplicaInfo sized0 = dir.replicaInfos().get(new TopicPartition("sized", 0));
        assertThat(sized0.size()).isGreaterThan(2_000).isEqualTo(written.log().sizeInBytes());
        assertThat(sized0.offsetLag()).isZero();
        assertThat(sized0.isFuture()).isFalse();
        assertThat(dir.replicaInfos().get(new TopicPartition("sized", 1)).size()).isZero();
        assertThat(dir.replicaInfos()).containsKey(new TopicPartition("other", 0));
        assertThat(dir.totalBytes().orElse(-1)).isPositive();
        assertThat(dir.usableBytes().orElse(-1)).isPositive().isLessThanOrEqualTo(dir.totalBytes().getAsLong());
    }

    @Test
    void aRequestNamingPartitionsGetsOnlyThoseOnEveryServedVersion() throws Exception {
        try (WireClient client = new WireClient(node.port())) {
            for (short v = 1; v <= 4; v++) {
                // Given: a request for sized-1 and a partition this node does not host
                DescribeLogDirsRequestData request = new DescribeLogDirsRequestData();
                request.topics().add(new DescribeLogDirsRequestData.DescribableLogDirTopic().setTopic("sized")
                        .setPartitions(List.of(1, 7)));

                // When
                DescribeLogDirsResponseData response = (DescribeLogDirsResponseData) client.send(
                        ApiKeys.DESCRIBE_LOG_DIRS, v, request);

                // Then: the one dir lists sized-1 alone; v4 carries the disk's space
                assertThat(response.errorCode()).isEqualTo(Errors.NONE.code());
                assertThat(response.results()).hasSize(1);
                DescribeLogDirsResponseData.DescribeLogDirsResult dir = response.results().get(0);
                assertThat(dir.errorCode()).isEqualTo(Errors.NONE.code());
                assertThat(dir.topics()).hasSize(1);
                assertThat(dir.topics().get(0).name()).isEqualTo("sized");
                assertThat(dir.topics().get(0).partitions()).extracting(p -> p.partitionIndex())
                        .containsExactly(1);
                if (v >= 4) {
                    assertThat(dir.totalBytes()).as("v%d", v).isPositive();
                    assertThat(dir.usableBytes()).as("v%d", v).isPositive();
                } else {
                    assertThat(dir.totalBytes()).as("v%d", v).isEqualTo(-1);
                }
            }
        }
    }
}
