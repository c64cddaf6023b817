package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13: Kafka Streams (kafka-streams from Maven Central, in a process of its own) runs a word count with a
 * persistent state store on three nodes. Its changelog topic is created compacted and is compacted while the app
 * runs; the app is stopped, its state directory wiped, and a restart restores the store from the compacted
 * changelog and goes on counting: every word's final count is exact.
 */
class StreamsIT {
    private static final String INPUT = "words-in";
    private static final String OUTPUT = "word-counts";
    private static final String APP_ID = "wordcount";
    private static final String CHANGELOG = APP_ID + "-counts-changelog";
    private static final List<String> VOCABULARY = List.of("alpha", "bravo", "charlie", "delta", "echo", "foxtrot",
            "golf", "hotel", "india", "juliett", "kilo", "lima", "mike", "november", "oscar", "papa");
    private static final int FIRST_RUN_LINES = 2_000;
    private static final int WORDS_PER_LINE = 5;
    private static final Duration COUNT_DEADLINE = Duration.ofSeconds(180);

    @RegisterExtension
    static final ClusterProcesses cluster = new ClusterProcesses(3, 3, Map.of("log.cleaner.backoff.ms", "200"));

    /** Kept when the test fails: the tool's full log is there. */
    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path work;

    @Test
    void wordCountIsExactAcrossARestartFromAnEmptyStateDir() throws Exception {
        Clients.createTopic(cluster.bootstrap(), INPUT, 3, 3);
        Clients.createTopic(cluster.bootstrap(), OUTPUT, 3, 3);
        Path state = work.resolve("state");
        Path config = writeConfig(state);
        Map<String, Long> expected = new HashMap<>();
        Random random = new Random(13);

        try (EcosystemProcess app = EcosystemProcess.start("wordcount-1", work,
                "io.tributary.ecosystem.WordCountApp", config.toString())) {
            produceLines(random, FIRST_RUN_LINES, expected);
            awaitCounts(app, expected);
            try (Admin admin = Clients.admin(cluster.bootstrap())) {
                ConfigResource changelog = new ConfigResource(ConfigResource.Type.TOPIC, CHANGELOG);
                assertThat(admin.describeConfigs(List.of(changelog)).all().get(60, TimeUnit.SECONDS)
                        .get(changelog).get("cleanup.policy").value())
                        .as("Streams creates its changelog compacted").isEqualTo("compact");
            }
            // Every replica has compacted (only the changelog is both compacted and past its first segment)
            await("the changelog compacted on every node").atMost(Duration.ofSeconds(90))
                    .pollInterval(Duration.ofMillis(500)).ignoreExceptions().until(() -> {
                        for (int node = 1; node <= 3; node++) {
                            if (PrometheusScrape.of(cluster.metricsPort(node))
                                    .sum("tributary_log_cleaner_removed_bytes_total") <= 0) {
                                return false;
                            }
                        }
                        return true;
                    });
            app.stop();
        }

        // The store is gone: the restart must restore every count from the compacted changelog
        deleteTree(state);
        produceLines(random, 1_000, expected);
        try (EcosystemProcess app = EcosystemProcess.start("wordcount-2", work,
                "io.tributary.ecosystem.WordCountApp", config.toString())) {
            awaitCounts(app, expected);
            app.stop();
            // It restored every partition of its store, from a changelog holding fewer records than the first run
            // wrote to it (one per update of a count): the restore read the compacted log.
            List<String> restored = app.output().lines().filter(line -> line.startsWith("RESTORED ")).toList();
            assertThat(restored).hasSize(3);
            long records = restored.stream().mapToLong(line -> Long.parseLong(line.substring(line.lastIndexOf(' ') + 1)))
                    .sum();
            assertThat(records).isPositive().isLessThan(FIRST_RUN_LINES * WORDS_PER_LINE);
            assertThat(app.output()).doesNotContain("] ERROR ");
        }
    }

    private Path writeConfig(Path state) throws IOException {
        Path file = work.resolve("wordcount.properties");
        Files.writeString(file, String.join("\n",
                "application.id=" + APP_ID,
                "bootstrap.servers=" + cluster.bootstrap(),
                "state.dir=" + state,
                "input.topic=" + INPUT,
                "output.topic=" + OUTPUT,
                "replication.factor=3",
                "commit.interval.ms=500",
                "statestore.cache.max.bytes=0",
                // Small changelog segments, so that the changelog is compacted while the test runs
                "topic.segment.bytes=16384",
                "topic.min.cleanable.dirty.ratio=0.01",
                ""));
        return file;
    }

    /** Sends {@code lines} lines of random words, acknowledged with acks=all, and counts them into expected. */
    private static void produceLines(Random random, int lines, Map<String, Long> expected) throws Exception {
        List<Future<RecordMetadata>> sent = new ArrayList<>();
        try (KafkaProducer<String, String> producer = Clients.producer(cluster.bootstrap(), Map.of())) {
            for (int i = 0; i < lines; i++) {
                List<String> words = new ArrayList<>();
                for (int w = 0; w < WORDS_PER_LINE; w++) {
                    String word = VOCABULARY.get(random.nextInt(VOCABULARY.size()));
                    words.add(random.nextBoolean() ? word : word.toUpperCase(java.util.Locale.ROOT));
                    expected.merge(word, 1L, Long::sum);
                }
                sent.add(producer.send(new ProducerRecord<>(INPUT, null, String.join(" ", words) + ".")));
            }
            for (Future<RecordMetadata> f : sent) {
                f.get(60, TimeUnit.SECONDS);
            }
        }
    }

    /** Reads the output topic from the beginning until every word's latest count is the expected one. */
    private static void awaitCounts(EcosystemProcess app, Map<String, Long> expected) {
        Map<String, Long> latest = new HashMap<>();
        try (KafkaConsumer<String, String> consumer = Clients.consumer(cluster.bootstrap())) {
            List<TopicPartition> partitions = Clients.partitions(OUTPUT, 3);
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            await("word counts of " + app).atMost(COUNT_DEADLINE).pollInSameThread().pollInterval(Duration.ZERO)
                    .failFast("the app exited\n" + app.outputTail(), () -> !app.isAlive())
                    .until(() -> {
                        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                            latest.put(r.key(), Long.parseLong(r.value()));
                        }
                        return latest.equals(expected);
                    });
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError("counts " + latest + " expected " + expected + "\n" + app.outputTail(), e);
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (var paths = Files.walk(dir)) {
                for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
    }
}
