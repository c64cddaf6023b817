package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Consumer groups seen and used by tools other than kafka-clients' consumer, on a 3-node cluster: Kafka's own
 * {@code kafka-consumer-groups --describe} (run as a separate JVM from the jars the build copies to
 * {@code target/kafka-tools}), kcat's balanced consumer ({@code -G}, librdkafka) and a kafkajs consumer group.
 *
 * <p>kcat and npm are skipped where missing, except under {@code CI=true}: {@code .ci/run} installs kcat and node,
 * so there a missing tool is a broken CI setup and fails the test.
 */
class ConsumerGroupToolsIT {
    private static final int PARTITIONS = 3;
    private static final Duration TOOL_DEADLINE = Duration.ofSeconds(90);
    private static final Duration GROUP_DEADLINE = Duration.ofSeconds(60);
    private static final boolean IN_CI = "true".equals(System.getenv("CI"));

    @RegisterExtension
    static final ClusterProcesses cluster = new ClusterProcesses(3, 3, Map.of(
            "group.initial.rebalance.delay.ms", "0",
            "offsets.topic.num.partitions", "10"));

    @TempDir
    Path workDir;

    @Test
    void kafkaConsumerGroupsDescribeShowsCommittedOffsetsLogEndOffsetsAndLag() {
        // Given: 10, 20 and 30 records in the three partitions; a live member commits 4, 20 and 7
        String topic = createTopic("described");
        String group = "described-group";
        int[] logEndOffsets = {10, 20, 30};
        long[] committed = {4, 20, 7};
        try (KafkaProducer<String, String> producer = Clients.producer(cluster.bootstrap(), Map.of())) {
            for (int partition = 0; partition < PARTITIONS; partition++) {
                for (int i = 0; i < logEndOffsets[partition]; i++) {
                    producer.send(new ProducerRecord<>(topic, partition, null, partition + "-" + i));
                }
            }
            producer.flush();
        }
        try (KafkaConsumer<String, String> member = GroupConsumers.member(cluster.bootstrap(), group,
                GroupConsumers.RANGE)) {
            member.subscribe(List.of(topic));
            await("the member owns all of " + topic).atMost(GROUP_DEADLINE).pollInSameThread()
                    .pollInterval(Duration.ZERO)
                    .until(() -> {
                        member.poll(Duration.ofMillis(100));
                        return member.assignment().size() == PARTITIONS;
                    });
            Map<TopicPartition, OffsetAndMetadata> commits = new TreeMap<>(
                    (a, b) -> Integer.compare(a.partition(), b.partition()));
            for (int partition = 0; partition < PARTITIONS; partition++) {
                commits.put(new TopicPartition(topic, partition), new OffsetAndMetadata(committed[partition]));
            }
            member.commitSync(commits);

            // When
            ExternalCommand.Result describe = kafkaConsumerGroups("--describe", "--group", group);

            // Then
            assertThat(describe.exitCode()).as(describe.toString()).isZero();
            Map<Integer, Map<String, String>> rows = describeRows(describe, topic);
            assertThat(rows.keySet()).as(describe.toString()).containsExactly(0, 1, 2);
            for (int partition = 0; partition < PARTITIONS; partition++) {
                Map<String, String> row = rows.get(partition);
                assertThat(row.get("GROUP")).as(describe.toString()).isEqualTo(group);
                assertThat(row.get("CURRENT-OFFSET")).as("CURRENT-OFFSET of partition %d", partition)
                        .isEqualTo(Long.toString(committed[partition]));
                assertThat(row.get("LOG-END-OFFSET")).as("LOG-END-OFFSET of partition %d", partition)
                        .isEqualTo(Integer.toString(logEndOffsets[partition]));
                assertThat(row.get("LAG")).as("LAG of partition %d", partition)
                        .isEqualTo(Long.toString(logEndOffsets[partition] - committed[partition]));
                assertThat(row.get("CONSUMER-ID")).as("CONSUMER-ID of partition %d", partition)
                        .isEqualTo(member.groupMetadata().memberId());
            }
        }
    }

    @Test
    void kcatBalancedConsumerReadsTheTopicEndToEnd() {
        // Given
        if (!IN_CI) {
            Assumptions.assumeTrue(ExternalCommand.onPath("kcat"), "kcat is not on PATH (apt-get install kcat)");
        }
        String topic = createTopic("kcat-grouped");
        List<String> values = produceValues(topic, 300, "kcat");

        // When: kcat joins a group (-G) and exits after as many messages as were produced (-c)
        ExternalCommand.Result consumed = ExternalCommand.run(List.of("kcat", "-b", cluster.bootstrap(),
                        "-G", "kcat-group", "-X", "auto.offset.reset=earliest", "-c", Integer.toString(values.size()),
                        "-q", "-f", "%s\\n", topic),
                "", TOOL_DEADLINE, workDir);

        // Then
        assertThat(consumed.exitCode()).as(consumed.toString()).isZero();
        assertThat(consumed.stdoutLines()).as(consumed.toString()).containsExactlyInAnyOrderElementsOf(values);
    }

    @Test
    void kafkajsConsumerGroupReadsTheTopicEndToEnd() throws IOException {
        // Given
        Path kafkajs = installKafkajs();
        String topic = createTopic("kafkajs-grouped");
        List<String> values = produceValues(topic, 300, "kafkajs");
        Path script = workDir.resolve("consume.js");
        Files.writeString(script, KAFKAJS_CONSUMER);

        // When
        // node resolves require('kafkajs') through NODE_PATH: the script lives in a temporary folder
        ExternalCommand.Result consumed = ExternalCommand.run(List.of("env",
                        "NODE_PATH=" + kafkajs.resolve("node_modules"), "node", script.toString(),
                        cluster.bootstrap(), "kafkajs-group", topic, Integer.toString(values.size())),
                "", TOOL_DEADLINE, workDir);

        // Then
        assertThat(consumed.exitCode()).as(consumed.toString()).isZero();
        assertThat(consumed.stdoutLines()).as(consumed.toString()).containsExactlyInAnyOrderElementsOf(values);
    }

    /** Joins a group, reads {@code count} messages from the beginning, prints one value a line, leaves, exits. */
    private static final String KAFKAJS_CONSUMER = """
            const { Kafka, logLevel } = require('kafkajs');
            const [brokers, groupId, topic, countText] = process.argv.slice(2);
            const count = Number(countText);
            const kafka = new Kafka({ clientId: 'tributary-it', brokers: brokers.split(','), logLevel: logLevel.WARN,
                retry: { retries: 10 } });
            const consumer = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 1000 });
            let seen = 0;
            let finish;
            const finished = new Promise(resolve => { finish = resolve; });
            (async () => {
              await consumer.connect();
              await consumer.subscribe({ topics: [topic], fromBeginning: true });
              await consumer.run({
                eachMessage: async ({ message }) => {
                  process.stdout.write(message.value.toString() + '\\n');
                  seen += 1;
                  if (seen >= count) finish();
                },
              });
              await finished;
              await consumer.disconnect();
              process.exit(0);
            })().catch(error => { console.error(error); process.exit(1); });
            """;

    /**
     * npm-installs kafkajs 2 into {@code target/kafkajs} (once per build) and returns that folder. Outside CI a
     * machine without npm or the registry skips the test; in CI it fails.
     */
    private Path installKafkajs() {
        Path prefix = Path.of(System.getProperty("kafkajs.dir", "target/kafkajs")).toAbsolutePath();
        if (Files.isDirectory(prefix.resolve("node_modules").resolve("kafkajs"))) {
            return prefix;
        }
        if (!IN_CI) {
            Assumptions.assumeTrue(ExternalCommand.onPath("node") && ExternalCommand.onPath("npm"),
                    "node and npm are not on PATH");
        }
        try {
            Files.createDirectories(prefix);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ExternalCommand.Result install = ExternalCommand.run(List.of("npm", "install", "--prefix",
                prefix.toString(), "--no-audit", "--no-fund", "--no-save", "kafkajs@2"), "", TOOL_DEADLINE, workDir);
        boolean installed = install.exitCode() == 0
                && Files.isDirectory(prefix.resolve("node_modules").resolve("kafkajs"));
        if (!IN_CI) {
            Assumptions.assumeTrue(installed, "cannot npm install kafkajs: " + install);
        }
        assertThat(installed).as("npm install kafkajs: %s", install).isTrue();
        return prefix;
    }

    private ExternalCommand.Result kafkaConsumerGroups(String... args) {
        return KafkaConsumerGroupsTool.run(cluster.bootstrap(), workDir, TOOL_DEADLINE, args);
    }

    private static Map<Integer, Map<String, String>> describeRows(ExternalCommand.Result describe, String topic) {
        return KafkaConsumerGroupsTool.describeRows(describe, topic);
    }

    private static String createTopic(String name) {
        Clients.createTopic(cluster.bootstrap(), name, PARTITIONS, 3);
        cluster.awaitAgreedMetadata(name);
        return name;
    }

    /** Produces {@code count} distinct values round-robin over the partitions, acks=all; returns them. */
    private static List<String> produceValues(String topic, int count, String tag) {
        List<String> values = IntStream.range(0, count).mapToObj(i -> tag + "-" + i).collect(Collectors.toList());
        try (KafkaProducer<String, String> producer = Clients.producer(cluster.bootstrap(), Map.of())) {
            for (int i = 0; i < count; i++) {
                producer.send(new ProducerRecord<>(topic, i % PARTITIONS, null, values.get(i)));
            }
            producer.flush();
        }
        return values;
    }
}
