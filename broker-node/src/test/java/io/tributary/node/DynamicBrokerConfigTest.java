package io.tributary.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.DescribeConfigsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.InvalidConfigurationException;
import org.apache.kafka.common.errors.InvalidRequestException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.record.CompressionType;
import org.apache.kafka.common.record.FileRecords;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Dynamic broker configs (KIP-226) on a real node through kafka-clients' Admin, as {@code kafka-configs
 * --entity-type brokers} calls it: the cluster-wide default and the per-broker value, their precedence, their
 * sources and synonyms in DescribeConfigs, topics inheriting them, and changes taking effect without a restart;
 * plus the topic configs the leader applies to appends (LogAppendTime, compression.type). Node id 1.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DynamicBrokerConfigTest {

    private static final ConfigResource BROKER_1 = new ConfigResource(ConfigResource.Type.BROKER, "1");
    private static final ConfigResource CLUSTER_DEFAULT = new ConfigResource(ConfigResource.Type.BROKER, "");

    private InProcessNode node;
    private Admin admin;
    private Path dataDir;

    @BeforeAll
    void start(@TempDir Path dataDir) throws Exception {
        this.dataDir = dataDir;
        node = InProcessNode.start(dataDir, Map.of("auto.create.topics.enable", "false",
                "log.segment.bytes", "536870912", "log.message.timestamp.type", "LogAppendTime"));
        admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, node.bootstrap()));
    }

    @AfterAll
    void stop() {
        if (admin != null) {
            admin.close();
        }
        if (node != null) {
            node.close();
        }
    }

    @Test
    void precedenceIsTopicThenBrokerThenClusterDefaultThenFileThenDefault() throws Exception {
        ConfigResource topic = create("precedence", Map.of());
        // Given nothing dynamic: the file's log.segment.bytes is STATIC, log.retention.ms is the DEFAULT
        assertThat(describe(BROKER_1, "log.segment.bytes").source())
                .isEqualTo(ConfigEntry.ConfigSource.STATIC_BROKER_CONFIG);
        assertThat(describe(topic, "segment.bytes").value()).isEqualTo("536870912");
        assertThat(describe(BROKER_1, "log.retention.ms").source())
                .isEqualTo(ConfigEntry.ConfigSource.DEFAULT_CONFIG);

        // When the cluster-wide default is set
        alter(CLUSTER_DEFAULT, "log.retention.ms", "3600000");
        // Then the broker and the topic show it as DYNAMIC_DEFAULT_BROKER_CONFIG, and the empty name shows only it
        ConfigEntry broker = describe(BROKER_1, "log.retention.ms");
        assertThat(broker.value()).isEqualTo("3600000");
        assertThat(broker.source()).isEqualTo(ConfigEntry.ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG);
        assertThat(broker.isReadOnly()).isFalse();
        assertThat(describe(topic, "retention.ms").value()).isEqualTo("3600000");
        assertThat(describe(topic, "retention.ms").source())
                .isEqualTo(ConfigEntry.ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG);
        assertThat(describeAll(CLUSTER_DEFAULT).entries()).extracting(ConfigEntry::name)
                .containsExactly("log.retention.ms");

        // When broker 1 gets its own value, it wins over the cluster default, with both as synonyms
        alter(BROKER_1, "log.retention.ms", "7200000");
        broker = describe(BROKER_1, "log.retention.ms");
        assertThat(broker.value()).isEqualTo("7200000");
        assertThat(broker.source()).isEqualTo(ConfigEntry.ConfigSource.DYNAMIC_BROKER_CONFIG);
        assertThat(broker.synonyms()).extracting(ConfigEntry.ConfigSynonym::source).containsExactly(
                ConfigEntry.ConfigSource.DYNAMIC_BROKER_CONFIG, ConfigEntry.ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG,
                ConfigEntry.ConfigSource.DEFAULT_CONFIG);
        ConfigEntry topicEntry = describe(topic, "retention.ms");
        assertThat(topicEntry.value()).isEqualTo("7200000");
        assertThat(topicEntry.synonyms()).extracting(ConfigEntry.ConfigSynonym::name)
                .containsExactly("log.retention.ms", "log.retention.ms", "log.retention.ms");

        // When the topic has its own override, it wins over both
        alter(topic, "retention.ms", "60000");
        assertThat(describe(topic, "retention.ms").value()).isEqualTo("60000");
        assertThat(describe(topic, "retention.ms").synonyms().get(0).source())
                .isEqualTo(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG);

        // When the broker's own value is deleted, the cluster default applies again
        delete(BROKER_1, "log.retention.ms");
        delete(topic, "retention.ms");
        assertThat(describe(topic, "retention.ms").value()).isEqualTo("3600000");
        delete(CLUSTER_DEFAULT, "log.retention.ms");
        assertThat(describe(topic, "retention.ms").value()).isEqualTo("604800000");
    }

    @Test
    void readOnlyConfigsBadValuesAndBadBrokerNamesAreRefused() {
        assertThatThrownBy(() -> alter(BROKER_1, "num.io.threads", "8"))
                .hasCauseInstanceOf(InvalidRequestException.class)
                .hasMessageContaining("Cannot update these configs dynamically").hasMessageContaining("num.io.threads");
        assertThatThrownBy(() -> alter(CLUSTER_DEFAULT, "log.retention.ms", "-7"))
                .hasCauseInstanceOf(InvalidConfigurationException.class).hasMessageContaining("log.retention.ms");
        assertThatThrownBy(() -> alter(CLUSTER_DEFAULT, "log.message.timestamp.type", "Yesterday"))
                .hasCauseInstanceOf(InvalidConfigurationException.class);
        assertThatThrownBy(() -> alter(CLUSTER_DEFAULT, "log.cleaner.threads", "99"))
                .hasCauseInstanceOf(InvalidConfigurationException.class);
        // (a broker name that is not an id is refused by the Admin client itself; ConfigDecisionsTest covers it)
    }

    @Test
    void replicationThrottlesAreSetOnTheNodeAndDescribedAndBadValuesRefused() throws Exception {
        // Unbounded by default, as in Kafka
        assertThat(describe(BROKER_1, "leader.replication.throttled.rate").value())
                .isEqualTo(Long.toString(Long.MAX_VALUE));
        assertThat(describe(BROKER_1, "leader.replication.throttled.rate").source())
                .isEqualTo(ConfigEntry.ConfigSource.DEFAULT_CONFIG);
        ConfigResource topic = create("throttled-replicas", Map.of());
        assertThat(describe(topic, "leader.replication.throttled.replicas").value()).isEmpty();

        // What kafka-reassign-partitions --throttle sets reaches the node's throttles
        alter(BROKER_1, "leader.replication.throttled.rate", "50000");
        alter(BROKER_1, "follower.replication.throttled.rate", "60000");
        alter(BROKER_1, "replica.alter.log.dirs.io.max.bytes.per.second", "70000");
        alter(topic, "leader.replication.throttled.replicas", "0:1,0:2");
        alter(topic, "follower.replication.throttled.replicas", "*");
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> node.replicas().leaderQuota().bytesPerSecond()
                == 50_000 && node.replicas().followerQuota().bytesPerSecond() == 60_000);
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> node.replicas().leaderQuota()
                .isThrottled(new io.tributary.replication.PartitionId("throttled-replicas", 0))
                && node.replicas().followerQuota()
                        .isThrottled(new io.tributary.replication.PartitionId("throttled-replicas", 0)));
        assertThat(describe(BROKER_1, "leader.replication.throttled.rate").value()).isEqualTo("50000");
        assertThat(describe(BROKER_1, "leader.replication.throttled.rate").source())
                .isEqualTo(ConfigEntry.ConfigSource.DYNAMIC_BROKER_CONFIG);
        assertThat(describe(topic, "leader.replication.throttled.replicas").value()).isEqualTo("0:1,0:2");

        // Bad values are refused with Kafka's reasons
        assertThatThrownBy(() -> alter(BROKER_1, "leader.replication.throttled.rate", "-1"))
                .hasCauseInstanceOf(InvalidConfigurationException.class)
                .hasMessageContaining("leader.replication.throttled.rate");
        assertThatThrownBy(() -> alter(BROKER_1, "follower.replication.throttled.rate", "fast"))
                .hasCauseInstanceOf(InvalidConfigurationException.class);
        assertThatThrownBy(() -> alter(topic, "follower.replication.throttled.replicas", "0-4"))
                .hasCauseInstanceOf(InvalidConfigurationException.class)
                .hasMessageContaining("[partitionId]:[brokerId]");

        // and --verify's clearing removes them all: unbounded again
        for (String name : List.of("leader.replication.throttled.rate", "follower.replication.throttled.rate",
                "replica.alter.log.dirs.io.max.bytes.per.second")) {
            delete(BROKER_1, name);
        }
        delete(topic, "leader.replication.throttled.replicas");
        delete(topic, "follower.replication.throttled.replicas");
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> node.replicas().leaderQuota().bytesPerSecond()
                == io.tributary.replication.ReplicationQuota.UNLIMITED
                && !node.replicas().followerQuota()
                        .isThrottled(new io.tributary.replication.PartitionId("throttled-replicas", 0)));
    }

    @Test
    void aDynamicMessageMaxBytesIsEnforcedOnOpenLogsWithoutARestart() throws Exception {
        create("dynamic-max", Map.of());
        try (KafkaProducer<byte[], byte[]> producer = producer()) {
            producer.send(new ProducerRecord<>("dynamic-max", new byte[10_000])).get(30, TimeUnit.SECONDS);
            alter(BROKER_1, "message.max.bytes", "2000");
            assertThatThrownBy(() -> producer.send(new ProducerRecord<>("dynamic-max", new byte[10_000]))
                    .get(30, TimeUnit.SECONDS)).hasCauseInstanceOf(RecordTooLargeException.class);
            delete(BROKER_1, "message.max.bytes");
            producer.send(new ProducerRecord<>("dynamic-max", new byte[10_000])).get(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void aDynamicTimestampTypeOverridesTheFilesForTheNextAppends() throws Exception {
        // Given the node's file sets log.message.timestamp.type=LogAppendTime and a topic without its own
        ConfigResource topic = create("inherits-time", Map.of());
        assertThat(describe(topic, "message.timestamp.type").value()).isEqualTo("LogAppendTime");
        assertThat(describe(topic, "message.timestamp.type").source())
                .isEqualTo(ConfigEntry.ConfigSource.STATIC_BROKER_CONFIG);
        try (KafkaProducer<byte[], byte[]> producer = producer()) {
            producer.send(new ProducerRecord<>("inherits-time", 0, 1000L, null, new byte[] {1}))
                    .get(30, TimeUnit.SECONDS);
            assertThat(readOne("inherits-time").timestampType()).isEqualTo(TimestampType.LOG_APPEND_TIME);

            // When the cluster-wide dynamic default says CreateTime
            alter(CLUSTER_DEFAULT, "log.message.timestamp.type", "CreateTime");
            try {
                // Then the topic shows it, and the next record keeps its CreateTime
                assertThat(describe(topic, "message.timestamp.type").value()).isEqualTo("CreateTime");
                assertThat(describe(topic, "message.timestamp.type").source())
                        .isEqualTo(ConfigEntry.ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG);
                RecordMetadata sent = producer.send(new ProducerRecord<>("inherits-time", 0, 2000L, null,
                        new byte[] {2})).get(30, TimeUnit.SECONDS);
                assertThat(sent.timestamp()).isEqualTo(2000L);
            } finally {
                delete(CLUSTER_DEFAULT, "log.message.timestamp.type");
            }
        }
    }

    @Test
    void logAppendTimeRecordsCarryTheBrokersTime() throws Exception {
        // Given a topic with message.timestamp.type=LogAppendTime
        create("append-time", Map.of("message.timestamp.type", "LogAppendTime"));
        long before = System.currentTimeMillis();
        // When a producer sends a record with CreateTime 1000
        RecordMetadata sent;
        try (KafkaProducer<byte[], byte[]> producer = producer()) {
            sent = producer.send(new ProducerRecord<>("append-time", 0, 1000L, null, new byte[] {1}))
                    .get(30, TimeUnit.SECONDS);
        }
        // Then the Produce answer and the consumer both show the broker's time, as LogAppendTime
        assertThat(sent.timestamp()).isGreaterThanOrEqualTo(before);
        ConsumerRecord<byte[], byte[]> read = readOne("append-time");
        assertThat(read.timestampType()).isEqualTo(TimestampType.LOG_APPEND_TIME);
        assertThat(read.timestamp()).isEqualTo(sent.timestamp());
    }

    @Test
    void anLz4TopicStoresLz4BatchesOfAnUncompressedProducer() throws Exception {
        // Given a topic with compression.type=lz4
        create("lz4-topic", Map.of("compression.type", "lz4"));
        // When an idempotent producer without compression writes to it
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, node.bootstrap(), ProducerConfig.LINGER_MS_CONFIG, "0",
                ProducerConfig.ACKS_CONFIG, "all", ProducerConfig.COMPRESSION_TYPE_CONFIG, "none"),
                new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>("lz4-topic", "k".getBytes(), "v".repeat(500).getBytes()))
                    .get(30, TimeUnit.SECONDS);
        }
        // Then the stored batch is lz4, and a consumer reads the record
        assertThat(storedCodecs("lz4-topic")).containsExactly(CompressionType.LZ4);
        assertThat(new String(readOne("lz4-topic").value())).isEqualTo("v".repeat(500));
    }

    private List<CompressionType> storedCodecs(String topic) throws Exception {
        try (Stream<Path> files = Files.walk(dataDir)) {
            Path segment = files.filter(p -> p.getParent().getFileName().toString().equals(topic + "-0")
                    && p.getFileName().toString().endsWith(".log")).findFirst().orElseThrow();
            try (FileRecords records = FileRecords.open(new File(segment.toString()))) {
                List<CompressionType> codecs = new java.util.ArrayList<>();
                for (RecordBatch b : records.batches()) {
                    codecs.add(b.compressionType());
                }
                return codecs;
            }
        }
    }

    private ConsumerRecord<byte[], byte[]> readOne(String topic) {
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, node.bootstrap(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"),
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.assign(List.of(new TopicPartition(topic, 0)));
            consumer.seekToBeginning(List.of(new TopicPartition(topic, 0)));
            List<ConsumerRecord<byte[], byte[]>> got = new java.util.ArrayList<>();
            Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> {
                consumer.poll(Duration.ofMillis(200)).forEach(got::add);
                return !got.isEmpty();
            });
            return got.get(0);
        }
    }

    private ConfigResource create(String name, Map<String, String> configs) throws Exception {
        admin.createTopics(List.of(new NewTopic(name, 1, (short) 1).configs(configs))).all()
                .get(30, TimeUnit.SECONDS);
        return new ConfigResource(ConfigResource.Type.TOPIC, name);
    }

    private void alter(ConfigResource resource, String name, String value) throws Exception {
        admin.incrementalAlterConfigs(Map.of(resource, (Collection<AlterConfigOp>) List.of(
                new AlterConfigOp(new ConfigEntry(name, value), AlterConfigOp.OpType.SET)))).all()
                .get(30, TimeUnit.SECONDS);
    }

    private void delete(ConfigResource resource, String name) throws Exception {
        admin.incrementalAlterConfigs(Map.of(resource, (Collection<AlterConfigOp>) List.of(
                new AlterConfigOp(new ConfigEntry(name, null), AlterConfigOp.OpType.DELETE)))).all()
                .get(30, TimeUnit.SECONDS);
    }

    private org.apache.kafka.clients.admin.Config describeAll(ConfigResource resource) throws Exception {
        return admin.describeConfigs(List.of(resource), new DescribeConfigsOptions().includeSynonyms(true)).all()
                .get(30, TimeUnit.SECONDS).get(resource);
    }

    private ConfigEntry describe(ConfigResource resource, String name) throws Exception {
        return describeAll(resource).get(name);
    }

    private KafkaProducer<byte[], byte[]> producer() {
        return new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, node.bootstrap(),
                ProducerConfig.LINGER_MS_CONFIG, "0", ProducerConfig.RETRIES_CONFIG, "0",
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "false"), new ByteArraySerializer(),
                new ByteArraySerializer());
    }
}
