package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kafka's own {@code kafka-log-dirs --describe} (LogDirsCommand, run as a separate JVM from the kafka-tools jars the
 * build copies to {@code target/kafka-tools}) on a 3-node cluster: every node reports its log dir and, for each
 * replica it hosts, the size its segment files take on disk and an offset lag of 0 once it has caught up.
 */
class LogDirsToolIT {
    private static final Duration TOOL_DEADLINE = Duration.ofSeconds(90);
    private static final Duration CATCH_UP_DEADLINE = Duration.ofSeconds(60);

    @RegisterExtension
    static final ClusterProcesses cluster = new ClusterProcesses(3, 3, Map.of());

    @TempDir
    Path workDir;

    @Test
    void kafkaLogDirsPrintsTheRealSizeOfEveryReplicaOnEveryNode() throws Exception {
        // Given: a topic replicated on all three nodes holding about 20 KB
        String topic = "sized";
        Clients.createTopic(cluster.bootstrap(), topic, 1, 3);
        try (KafkaProducer<String, String> producer = Clients.producer(cluster.bootstrap(), Map.of("acks", "all"))) {
            for (int i = 0; i < 40; i++) {
                producer.send(new ProducerRecord<>(topic, "x".repeat(500))).get(30, TimeUnit.SECONDS);
            }
        }
        for (int id = 1; id <= 3; id++) {
            NodeProcess node = cluster.node(id);
            await("node " + id + " holds the records").atMost(CATCH_UP_DEADLINE)
                    .until(() -> segmentBytes(node, topic) >= 20_000);
        }

        // When: kafka-log-dirs describes the topic on every broker
        ExternalCommand.Result describe = kafkaLogDirs(cluster.bootstrap(), "--describe", "--topic-list", topic);

        // Then: each of the three brokers reports one log dir under its data dir, with the replica's size on disk
        assertThat(describe.exitCode()).as(describe.toString()).isZero();
        assertThat(describe.stdout()).as(describe.toString())
                .contains("Received log directory information from brokers 1,2,3");
        // (the tool prints Jackson maps, whose key order is not fixed: match each object's fields on their own)
        List<Path> logDirs = new ArrayList<>();
        Matcher logDir = Pattern.compile("\"logDir\":\"([^\"]+)\"").matcher(describe.stdout());
        while (logDir.find()) {
            logDirs.add(Path.of(logDir.group(1)));
        }
        List<Path> expectedDirs = new ArrayList<>();
        List<Long> expectedSizes = new ArrayList<>();
        for (int id = 1; id <= 3; id++) {
            expectedDirs.add(cluster.node(id).partitionDir(topic, 0).getParent().toAbsolutePath());
            expectedSizes.add(segmentBytes(cluster.node(id), topic));
        }
        assertThat(logDirs).as(describe.stdout()).containsExactlyInAnyOrderElementsOf(expectedDirs);
        List<Long> sizes = new ArrayList<>();
        Matcher partition = Pattern.compile("\\{[^{}]*\"partition\":\"" + topic + "-0\"[^{}]*}")
                .matcher(describe.stdout());
        while (partition.find()) {
            String object = partition.group();
            sizes.add(field(object, "size"));
            assertThat(field(object, "offsetLag")).as(object).isZero();
            assertThat(object).contains("\"isFuture\":false");
        }
        assertThat(sizes).as("sizes on disk, one per replica").containsExactlyInAnyOrderElementsOf(expectedSizes)
                .allSatisfy(size -> assertThat(size).isGreaterThanOrEqualTo(20_000));
    }

    private static long field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\":(-?\\d+)").matcher(json);
        assertThat(m.find()).as("%s in %s", name, json).isTrue();
        return Long.parseLong(m.group(1));
    }

    private static long segmentBytes(NodeProcess node, String topic) throws IOException {
        long total = 0;
        for (Path segment : node.segmentFiles(topic, 0)) {
            total += Files.size(segment);
        }
        return total;
    }

    /** Runs Kafka's LogDirsCommand (kafka-log-dirs.sh) against {@code bootstrap} in its own JVM. */
    private ExternalCommand.Result kafkaLogDirs(String bootstrap, String... args) {
        return KafkaTools.run("org.apache.kafka.tools.LogDirsCommand", bootstrap, TOOL_DEADLINE, workDir, args);
    }
}
