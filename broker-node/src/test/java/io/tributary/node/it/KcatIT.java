package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * librdkafka (through kcat) against one node: metadata, produce and consume with every compression codec, and
 * interoperation with kafka-clients in both directions.
 *
 * <p>Skipped where kcat is missing, except under {@code CI=true}: {@code .ci/run} installs it, so there a missing
 * kcat is a broken CI setup and fails the test.
 */
class KcatIT {
    /** One kcat run; an Awaitility deadline around repeated runs must be longer. */
    private static final Duration KCAT_DEADLINE = Duration.ofSeconds(30);
    private static final Duration RETRY_DEADLINE = Duration.ofSeconds(45);
    private static final int PARTITIONS = 3;

    @RegisterExtension
    final NodeProcesses nodes = new NodeProcesses();

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path dataDir;

    @TempDir
    Path workDir;

    private NodeProcess node;

    @BeforeEach
    void startNode() {
        boolean inCi = "true".equals(System.getenv("CI"));
        if (!inCi) {
            Assumptions.assumeTrue(ExternalCommand.onPath("kcat"), "kcat is not on PATH (install it: apt-get install kcat)");
        } else {
            assertThat(ExternalCommand.onPath("kcat")).as("kcat on PATH in CI (.ci/run installs it)").isTrue();
        }
        node = nodes.start(dataDir);
    }

    @Test
    void listsTheBrokerAndAnExistingTopic() {
        // Given
        Clients.createTopic(node.bootstrap(), "listed", PARTITIONS);

        // When / Then
        await("kcat -L shows the broker and the topic").atMost(RETRY_DEADLINE).untilAsserted(() -> {
            ExternalCommand.Result listing = kcat(List.of("-L"), "");
            assertThat(listing.exitCode()).as(listing.toString()).isZero();
            assertThat(listing.stdout())
                    .as(listing.toString())
                    .contains("broker " + node.nodeId() + " at " + node.bootstrap())
                    .contains("topic \"listed\" with " + PARTITIONS + " partitions");
        });
    }

    @ParameterizedTest(name = "compression {0}")
    @ValueSource(strings = {"none", "gzip", "snappy", "lz4", "zstd"})
    void consumesEveryLineKcatProduced(String codec) {
        // Given
        String topic = "kcat-" + codec;
        Clients.createTopic(node.bootstrap(), topic, PARTITIONS);
        List<String> lines = lines(500, codec);

        // When
        List<String> produceArgs = new ArrayList<>(List.of("-P", "-t", topic, "-K:"));
        if (!codec.equals("none")) {
            produceArgs.addAll(List.of("-z", codec));
        }
        produce(produceArgs, lines);
        List<String> consumed = consumeAll(topic, lines.size());

        // Then
        assertThat(consumed).containsExactlyInAnyOrderElementsOf(lines);
    }

    @Test
    void kafkaClientsConsumerReadsWhatKcatProduced() {
        // Given
        String topic = "kcat-to-java";
        Clients.createTopic(node.bootstrap(), topic, PARTITIONS);
        List<String> lines = lines(200, "kcat");

        // When
        produce(List.of("-P", "-t", topic, "-K:"), lines);
        List<ConsumerRecord<String, String>> records =
                Clients.readFromBeginning(node.bootstrap(), topic, PARTITIONS, lines.size());

        // Then
        assertThat(records).extracting(r -> r.key() + ":" + r.value()).containsExactlyInAnyOrderElementsOf(lines);
    }

    @Test
    void kcatReadsWhatKafkaClientsProduced() throws Exception {
        // Given
        String topic = "java-to-kcat";
        Clients.createTopic(node.bootstrap(), topic, PARTITIONS);
        List<String> lines = lines(200, "java");

        // When
        try (KafkaProducer<String, String> producer = Clients.producer(node.bootstrap(), Map.of())) {
            for (String line : lines) {
                String[] keyValue = line.split(":", 2);
                producer.send(new ProducerRecord<>(topic, keyValue[0], keyValue[1]));
            }
            producer.flush();
        }
        List<String> consumed = consumeAll(topic, lines.size());

        // Then
        assertThat(consumed).containsExactlyInAnyOrderElementsOf(lines);
    }

    private static List<String> lines(int count, String tag) {
        return IntStream.range(0, count).mapToObj(i -> "k" + i + ":v" + i + "-" + tag).toList();
    }

    private void produce(List<String> args, List<String> lines) {
        ExternalCommand.Result produced = kcat(args, String.join("\n", lines) + "\n");
        assertThat(produced.exitCode()).as(produced.toString()).isZero();
        assertThat(produced.stderr()).as(produced.toString()).doesNotContainIgnoringCase("failed");
    }

    /**
     * kcat -C from the beginning of every partition, exiting at the end of the log (-e); one key:value a line. One
     * run is enough: everything was acknowledged with acks=all before, so it is all below the high watermark.
     */
    private List<String> consumeAll(String topic, int expected) {
        ExternalCommand.Result result =
                kcat(List.of("-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%k:%s\\n"), "");
        assertThat(result.exitCode()).as(result.toString()).isZero();
        assertThat(result.stdoutLines()).as(result.toString()).hasSize(expected);
        return result.stdoutLines();
    }

    private ExternalCommand.Result kcat(List<String> args, String stdin) {
        List<String> command = new ArrayList<>(List.of("kcat", "-b", node.bootstrap()));
        command.addAll(args);
        return ExternalCommand.run(command, stdin, KCAT_DEADLINE, workDir);
    }
}
