package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Topic configs changed with Kafka's own {@code kafka-configs} (ConfigCommand, run as a separate JVM from the jars
 * the build copies to {@code target/kafka-configs-tool}) on a 3-node cluster: the change goes through the active
 * controller into the replicated metadata, every node describes it, and every node's replica applies it to its
 * open log (a lowered retention.ms deletes the old segments on all three). Dynamic broker configs likewise
 * ({@code --entity-type brokers}, {@code --entity-default} and {@code --entity-name 1}): a cluster-wide
 * message.max.bytes refuses large records on every leader, broker 1's own log.retention.ms deletes its old segments.
 */
class ConfigsToolIT {
    private static final Duration TOOL_DEADLINE = Duration.ofSeconds(90);
    private static final Duration EFFECT_DEADLINE = Duration.ofSeconds(60);

    @RegisterExtension
    static final ClusterProcesses cluster = new ClusterProcesses(3, 3, Map.of(
            "log.retention.check.interval.ms", "500"));

    @TempDir
    Path workDir;

    @Test
    void kafkaConfigsAltersATopicConfigThatEveryNodeDescribesAndApplies() throws Exception {
        // Given: a topic replicated on all three nodes with several closed segments on each
        String topic = "retained";
        Clients.createTopic(cluster.bootstrap(), topic, 1, 3, Map.of("segment.bytes", "2000"));
        try (KafkaProducer<String, String> producer = Clients.producer(cluster.bootstrap(), Map.of())) {
            for (int i = 0; i < 20; i++) {
                // One batch per record (each waited for), so that the 2,000-byte segments roll every few records.
                producer.send(new ProducerRecord<>(topic, "x".repeat(500))).get(30, TimeUnit.SECONDS);
            }
        }
        for (int id = 1; id <= 3; id++) {
            NodeProcess node = cluster.node(id);
            await("node " + id + " holds closed segments from offset 0").atMost(EFFECT_DEADLINE)
                    .until(() -> node.segmentFiles(topic, 0).size() >= 3
                            && firstBaseOffset(node, topic) == 0);
        }

        // When: kafka-configs lowers retention.ms and sets max.message.bytes
        ExternalCommand.Result alter = kafkaConfigs(cluster.bootstrap(), "--alter", "--entity-type", "topics",
                "--entity-name", topic, "--add-config", "retention.ms=1000,max.message.bytes=3000");

        // Then: every node describes the change, and every replica deletes its old segments
        assertThat(alter.exitCode()).as(alter.toString()).isZero();
        for (int id = 1; id <= 3; id++) {
            ExternalCommand.Result describe = kafkaConfigs(cluster.bootstrap(id), "--describe", "--entity-type",
                    "topics", "--entity-name", topic);
            assertThat(describe.exitCode()).as(describe.toString()).isZero();
            assertThat(describe.stdout()).as("node %d: %s", id, describe).contains("retention.ms=1000")
                    .contains("max.message.bytes=3000").contains("segment.bytes=2000");
        }
        for (int id = 1; id <= 3; id++) {
            NodeProcess node = cluster.node(id);
            await("node " + id + " deletes the segments retention.ms=1000 expires").atMost(EFFECT_DEADLINE)
                    .until(() -> firstBaseOffset(node, topic) > 0);
        }

        // When: one override is deleted again, Then: it is gone from the description
        ExternalCommand.Result delete = kafkaConfigs(cluster.bootstrap(), "--alter", "--entity-type", "topics",
                "--entity-name", topic, "--delete-config", "max.message.bytes");
        assertThat(delete.exitCode()).as(delete.toString()).isZero();
        ExternalCommand.Result after = kafkaConfigs(cluster.bootstrap(2), "--describe", "--entity-type", "topics",
                "--entity-name", topic);
        assertThat(after.stdout()).as(after.toString()).contains("retention.ms=1000")
                .doesNotContain("max.message.bytes=3000");
    }

    @Test
    void kafkaConfigsChangesDynamicBrokerConfigsThatTakeEffectWithoutARestart() throws Exception {
        // Given: a topic on all three nodes that takes 10,000-byte records
        String topic = "dynamic-max";
        Clients.createTopic(cluster.bootstrap(), topic, 3, 3, Map.of());
        String retained = "dynamic-retention";
        Clients.createTopic(cluster.bootstrap(), retained, 1, 3, Map.of("segment.bytes", "2000"));
        try (KafkaProducer<String, String> producer = Clients.producer(cluster.bootstrap(), Map.of())) {
            producer.send(new ProducerRecord<>(topic, 0, null, "x".repeat(10_000))).get(30, TimeUnit.SECONDS);

            // When: kafka-configs sets the cluster-wide default message.max.bytes (--entity-default)
            ExternalCommand.Result alter = kafkaConfigs(cluster.bootstrap(), "--alter", "--entity-type", "brokers",
                    "--entity-default", "--add-config", "message.max.bytes=2000");
            assertThat(alter.exitCode()).as(alter.toString()).isZero();

            // Then: every leader refuses the large record, and --describe shows the default
            for (int partition = 0; partition < 3; partition++) {
                int p = partition;
                await("partition " + p + " refuses a 10,000-byte record").atMost(EFFECT_DEADLINE).until(() -> {
                    try {
                        producer.send(new ProducerRecord<>(topic, p, null, "x".repeat(10_000)))
                                .get(30, TimeUnit.SECONDS);
                        return false;
                    } catch (java.util.concurrent.ExecutionException e) {
                        return e.getCause() instanceof org.apache.kafka.common.errors.RecordTooLargeException;
                    }
                });
            }
            ExternalCommand.Result describe = kafkaConfigs(cluster.bootstrap(2), "--describe", "--entity-type",
                    "brokers", "--entity-default");
            assertThat(describe.stdout()).as(describe.toString()).contains("message.max.bytes=2000")
                    .contains("DYNAMIC_DEFAULT_BROKER_CONFIG");

            // When: the default is deleted again, Then: the large record is taken again
            ExternalCommand.Result delete = kafkaConfigs(cluster.bootstrap(), "--alter", "--entity-type",
                    "brokers", "--entity-default", "--delete-config", "message.max.bytes");
            assertThat(delete.exitCode()).as(delete.toString()).isZero();
            await("the large record is accepted again").atMost(EFFECT_DEADLINE).ignoreExceptions().until(() -> {
                producer.send(new ProducerRecord<>(topic, 0, null, "x".repeat(10_000))).get(30, TimeUnit.SECONDS);
                return true;
            });
            for (int i = 0; i < 20; i++) {
                producer.send(new ProducerRecord<>(retained, "y".repeat(500))).get(30, TimeUnit.SECONDS);
            }
        }
        for (int id = 1; id <= 3; id++) {
            NodeProcess node = cluster.node(id);
            await("node " + id + " holds closed segments from offset 0").atMost(EFFECT_DEADLINE)
                    .until(() -> node.segmentFiles(retained, 0).size() >= 3 && firstBaseOffset(node, retained) == 0);
        }

        // When: broker 1 alone gets log.retention.ms=1000 (--entity-name 1)
        ExternalCommand.Result perBroker = kafkaConfigs(cluster.bootstrap(), "--alter", "--entity-type", "brokers",
                "--entity-name", "1", "--add-config", "log.retention.ms=1000");
        assertThat(perBroker.exitCode()).as(perBroker.toString()).isZero();

        // Then: node 1 deletes its old segments, --describe on broker 1 shows the per-broker value
        NodeProcess node1 = cluster.node(1);
        await("node 1 deletes the segments its log.retention.ms=1000 expires").atMost(EFFECT_DEADLINE)
                .until(() -> firstBaseOffset(node1, retained) > 0);
        ExternalCommand.Result describe = kafkaConfigs(cluster.bootstrap(1), "--describe", "--entity-type",
                "brokers", "--entity-name", "1");
        assertThat(describe.stdout()).as(describe.toString()).contains("log.retention.ms=1000")
                .contains("DYNAMIC_BROKER_CONFIG");
        // (Nodes 2 and 3 keep the default retention, but follow the leader's log start offset when node 1 leads, as
        // Kafka's followers do. A topic describe is answered by whichever node the Admin client picks, with that
        // node's inherited values: DynamicBrokerConfigTest covers it.)

        // And: a config that cannot change at run time is refused as Kafka refuses it
        ExternalCommand.Result readOnly = kafkaConfigs(cluster.bootstrap(), "--alter", "--entity-type",
                "brokers", "--entity-name", "1", "--add-config", "num.io.threads=8");
        assertThat(readOnly.exitCode()).as(readOnly.toString()).isNotZero();
        assertThat(readOnly.stdout() + readOnly.stderr()).as(readOnly.toString())
                .contains("Cannot update these configs dynamically");
        kafkaConfigs(cluster.bootstrap(), "--alter", "--entity-type", "brokers", "--entity-name", "1",
                "--delete-config", "log.retention.ms");
    }

    private static long firstBaseOffset(NodeProcess node, String topic) {
        List<Path> segments = node.segmentFiles(topic, 0);
        if (segments.isEmpty()) {
            return -1;
        }
        String name = segments.get(0).getFileName().toString();
        return Long.parseLong(name.substring(0, name.indexOf('.')));
    }

    /** Runs Kafka's ConfigCommand (kafka-configs.sh) against {@code bootstrap} in its own JVM. */
    private ExternalCommand.Result kafkaConfigs(String bootstrap, String... args) {
        Path jars = Path.of(System.getProperty("kafka.configs.tool.dir", "target/kafka-configs-tool"))
                .toAbsolutePath();
        try (var files = Files.list(jars)) {
            assertThat(files.map(file -> file.getFileName().toString()))
                    .as("jars the build's copy-kafka-configs-tool execution put in %s", jars)
                    .anyMatch(name -> name.startsWith("kafka-tools-") && !name.startsWith("kafka-tools-api"));
        } catch (IOException e) {
            throw new UncheckedIOException("no kafka-tools in " + jars + " (run through mvn verify)", e);
        }
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx128m", NodeProcess.C1_ONLY,
                "-cp", jars + "/*", "org.apache.kafka.tools.ConfigCommand", "--bootstrap-server", bootstrap));
        command.addAll(Arrays.asList(args));
        return ExternalCommand.run(command, "", TOOL_DEADLINE, workDir);
    }
}
