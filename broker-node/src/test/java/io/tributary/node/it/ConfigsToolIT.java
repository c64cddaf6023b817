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
 * open log (a lowered retention.ms deletes the old segments on all three).
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
    void kafkaConfigsOnABrokerIsRefusedRatherThanIgnored() {
        ExternalCommand.Result alter = kafkaConfigs(cluster.bootstrap(), "--alter", "--entity-type", "brokers",
                "--entity-name", "1", "--add-config", "log.cleaner.threads=2");
        assertThat(alter.exitCode()).as(alter.toString()).isNotZero();
        assertThat(alter.stdout() + alter.stderr()).as(alter.toString())
                .contains("dynamic broker configs are not supported yet");
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
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx128m",
                "-cp", jars + "/*", "org.apache.kafka.tools.ConfigCommand", "--bootstrap-server", bootstrap));
        command.addAll(Arrays.asList(args));
        return ExternalCommand.run(command, "", TOOL_DEADLINE, workDir);
    }
}
