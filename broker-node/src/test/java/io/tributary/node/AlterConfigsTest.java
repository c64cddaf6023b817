package io.tributary.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.AlterConfigsOptions;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.InvalidConfigurationException;
import org.apache.kafka.common.errors.InvalidRequestException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.message.AlterConfigsRequestData;
import org.apache.kafka.common.message.AlterConfigsResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * IncrementalAlterConfigs and AlterConfigs on a real node through kafka-clients' Admin (as {@code kafka-configs}
 * calls it): SET, DELETE, APPEND and SUBTRACT, validateOnly, Kafka's errors, DescribeConfigs showing the change as
 * DYNAMIC_TOPIC_CONFIG, and the change taking effect on the open log and partition (max.message.bytes,
 * retention.ms, min.insync.replicas).
 * The same through {@code kafka-configs} on three nodes: {@code it/ConfigsToolIT}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AlterConfigsTest {

    private InProcessNode node;
    private Admin admin;

    @BeforeAll
    void start(@TempDir Path dataDir) throws Exception {
        node = InProcessNode.start(dataDir, Map.of("auto.create.topics.enable", "false",
                "log.retention.check.interval.ms", "200"));
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
    void setThenDeleteShowsTheOverrideAsDynamicTopicConfigThenTheDefault() throws Exception {
        // Given a topic without overrides
        ConfigResource topic = create("set-delete", Map.of());
        // When retention.ms is set
        alter(topic, new AlterConfigOp(new ConfigEntry("retention.ms", "3600000"), AlterConfigOp.OpType.SET));
        // Then DescribeConfigs shows it as a dynamic topic config
        ConfigEntry entry = describe(topic, "retention.ms");
        assertThat(entry.value()).isEqualTo("3600000");
        assertThat(entry.source()).isEqualTo(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG);
        // When it is deleted, the default comes back
        alter(topic, new AlterConfigOp(new ConfigEntry("retention.ms", null), AlterConfigOp.OpType.DELETE));
        entry = describe(topic, "retention.ms");
        assertThat(entry.value()).isEqualTo("604800000");
        assertThat(entry.source()).isNotEqualTo(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG);
    }

    @Test
    void appendAndSubtractChangeTheCleanupPolicyList() throws Exception {
        ConfigResource topic = create("append-subtract", Map.of());
        // APPEND starts from the default (delete)
        alter(topic, new AlterConfigOp(new ConfigEntry("cleanup.policy", "compact"), AlterConfigOp.OpType.APPEND));
        assertThat(describe(topic, "cleanup.policy").value()).isEqualTo("delete,compact");
        alter(topic, new AlterConfigOp(new ConfigEntry("cleanup.policy", "delete"),
                AlterConfigOp.OpType.SUBTRACT));
        assertThat(describe(topic, "cleanup.policy").value()).isEqualTo("compact");
        // APPEND to a config that is not a list is refused
        assertThatThrownBy(() -> alter(topic, new AlterConfigOp(new ConfigEntry("retention.ms", "1"),
                AlterConfigOp.OpType.APPEND)))
                .hasCauseInstanceOf(InvalidConfigurationException.class)
                .hasMessageContaining("not LIST");
    }

    @Test
    void validateOnlyChecksButChangesNothing() throws Exception {
        ConfigResource topic = create("validate-only", Map.of("retention.ms", "100000"));
        admin.incrementalAlterConfigs(Map.of(topic, List.of(new AlterConfigOp(
                new ConfigEntry("retention.ms", "200000"), AlterConfigOp.OpType.SET))),
                new AlterConfigsOptions().validateOnly(true)).all().get(30, TimeUnit.SECONDS);
        assertThat(describe(topic, "retention.ms").value()).isEqualTo("100000");
        assertThatThrownBy(() -> admin.incrementalAlterConfigs(Map.of(topic, List.of(new AlterConfigOp(
                new ConfigEntry("retention.ms", "-5"), AlterConfigOp.OpType.SET))),
                new AlterConfigsOptions().validateOnly(true)).all().get(30, TimeUnit.SECONDS))
                .hasCauseInstanceOf(InvalidConfigurationException.class);
    }

    @Test
    void badValuesUnknownNamesUnknownTopicsAndBrokersAreRefusedAsKafkaDoes() throws Exception {
        ConfigResource topic = create("refusals", Map.of());
        assertThatThrownBy(() -> alter(topic, new AlterConfigOp(new ConfigEntry("retention.ms", "soon"),
                AlterConfigOp.OpType.SET)))
                .hasCauseInstanceOf(InvalidConfigurationException.class).hasMessageContaining("retention.ms");
        assertThatThrownBy(() -> alter(topic, new AlterConfigOp(new ConfigEntry("no.such.config", "1"),
                AlterConfigOp.OpType.SET)))
                .hasCauseInstanceOf(InvalidConfigurationException.class).hasMessageContaining("no.such.config");
        assertThatThrownBy(() -> alter(new ConfigResource(ConfigResource.Type.TOPIC, "missing"),
                new AlterConfigOp(new ConfigEntry("retention.ms", "1000"), AlterConfigOp.OpType.SET)))
                .hasCauseInstanceOf(UnknownTopicOrPartitionException.class);
        assertThatThrownBy(() -> alter(new ConfigResource(ConfigResource.Type.BROKER, "1"),
                new AlterConfigOp(new ConfigEntry("num.io.threads", "8"), AlterConfigOp.OpType.SET)))
                .hasCauseInstanceOf(InvalidRequestException.class)
                .hasMessageContaining("Cannot update these configs dynamically");
        assertThatThrownBy(() -> alter(new ConfigResource(ConfigResource.Type.BROKER_LOGGER, "1"),
                new AlterConfigOp(new ConfigEntry("kafka", "DEBUG"), AlterConfigOp.OpType.SET)))
                .hasCauseInstanceOf(InvalidRequestException.class);
        // Nothing of the refused changes was applied
        assertThat(describe(topic, "retention.ms").source()).isNotEqualTo(
                ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG);
    }

    @Test
    void legacyAlterConfigsReplacesTheWholeSetOfOverrides() throws Exception {
        ConfigResource topic = create("legacy", Map.of("retention.ms", "100000", "segment.bytes", "1048576"));
        AlterConfigsRequestData request = new AlterConfigsRequestData();
        AlterConfigsRequestData.AlterConfigsResource resource = new AlterConfigsRequestData.AlterConfigsResource()
                .setResourceType((byte) 2).setResourceName("legacy");
        resource.configs().add(new AlterConfigsRequestData.AlterableConfig().setName("max.message.bytes")
                .setValue("2048"));
        request.resources().add(resource);
        try (WireClient client = new WireClient(node.port())) {
            AlterConfigsResponseData response = (AlterConfigsResponseData) client.send(ApiKeys.ALTER_CONFIGS,
                    (short) 2, request);
            assertThat(response.responses().get(0).errorCode()).isEqualTo(Errors.NONE.code());
        }
        assertThat(describe(topic, "max.message.bytes").value()).isEqualTo("2048");
        assertThat(describe(topic, "retention.ms").source()).isNotEqualTo(
                ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG);
        assertThat(describe(topic, "segment.bytes").source()).isNotEqualTo(
                ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG);
    }

    @Test
    void loweredMaxMessageBytesRefusesALargerRecordOnTheOpenLog() throws Exception {
        ConfigResource topic = create("max-message", Map.of());
        try (KafkaProducer<byte[], byte[]> producer = producer()) {
            producer.send(new ProducerRecord<>("max-message", new byte[10_000])).get(30, TimeUnit.SECONDS);
            alter(topic, new AlterConfigOp(new ConfigEntry("max.message.bytes", "2000"), AlterConfigOp.OpType.SET));
            assertThatThrownBy(() -> producer.send(new ProducerRecord<>("max-message", new byte[10_000]))
                    .get(30, TimeUnit.SECONDS)).hasCauseInstanceOf(RecordTooLargeException.class);
            alter(topic, new AlterConfigOp(new ConfigEntry("max.message.bytes", null),
                    AlterConfigOp.OpType.DELETE));
            producer.send(new ProducerRecord<>("max-message", new byte[10_000])).get(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void minInsyncReplicasAboveTheReplicationFactorCountsAsTheReplicationFactor() throws Exception {
        // Given a one-replica topic that takes acks=all
        ConfigResource topic = create("min-isr", Map.of());
        try (KafkaProducer<byte[], byte[]> producer = producer()) {
            producer.send(new ProducerRecord<>("min-isr", new byte[10])).get(30, TimeUnit.SECONDS);
            // When min.insync.replicas goes above its one replica, Then the open partition takes it as 1 and acks=all
            // is still taken, as Kafka's effectiveMinIsr (ReplicaManagerMinInsyncTest shows a value that fits the
            // replicas refusing acks=all on an open partition)
            alter(topic, new AlterConfigOp(new ConfigEntry("min.insync.replicas", "2"), AlterConfigOp.OpType.SET));
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).until(() -> "2".equals(
                    node.replicas().image().topic("min-isr").configs().get("min.insync.replicas")));
            producer.send(new ProducerRecord<>("min-isr", new byte[10])).get(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void loweredRetentionMsDeletesOldSegments() throws Exception {
        ConfigResource topic = create("retention", Map.of("segment.bytes", "2000"));
        try (KafkaProducer<byte[], byte[]> producer = producer()) {
            for (int i = 0; i < 20; i++) {
                producer.send(new ProducerRecord<>("retention", new byte[500])).get(30, TimeUnit.SECONDS);
            }
        }
        TopicPartition tp = new TopicPartition("retention", 0);
        assertThat(earliest(tp)).isZero();
        alter(topic, new AlterConfigOp(new ConfigEntry("retention.ms", "1"), AlterConfigOp.OpType.SET));
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> earliest(tp) > 0);
    }

    private ConfigResource create(String name, Map<String, String> configs) throws Exception {
        admin.createTopics(List.of(new NewTopic(name, 1, (short) 1).configs(configs))).all()
                .get(30, TimeUnit.SECONDS);
        return new ConfigResource(ConfigResource.Type.TOPIC, name);
    }

    private void alter(ConfigResource resource, AlterConfigOp op) throws Exception {
        admin.incrementalAlterConfigs(Map.of(resource, (Collection<AlterConfigOp>) List.of(op))).all()
                .get(30, TimeUnit.SECONDS);
    }

    private ConfigEntry describe(ConfigResource resource, String name) throws Exception {
        return admin.describeConfigs(List.of(resource)).all().get(30, TimeUnit.SECONDS).get(resource).get(name);
    }

    private long earliest(TopicPartition tp) throws ExecutionException, InterruptedException {
        return admin.listOffsets(Map.of(tp, OffsetSpec.earliest())).partitionResult(tp).get().offset();
    }

    private KafkaProducer<byte[], byte[]> producer() {
        return new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, node.bootstrap(),
                ProducerConfig.LINGER_MS_CONFIG, "0", ProducerConfig.RETRIES_CONFIG, "0",
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "false"), new ByteArraySerializer(),
                new ByteArraySerializer());
    }
}
