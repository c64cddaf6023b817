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
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14: Kafka Streams with {@code processing.guarantee=exactly_once_v2} (kafka-streams from Maven Central, in a
 * process of its own) counts words on three nodes, is killed with SIGKILL in the middle of its input, and is started
 * again: a read_committed reader of its output sees, for every word, the counts 1, 2, 3, ... each exactly once and
 * ending at the word's true count. At-least-once would count the input read since its last commit twice.
 */
class StreamsExactlyOnceIT {
    private static final String INPUT = "eos-words-in";
    private static final String OUTPUT = "eos-word-counts";
    private static final String APP_ID = "wordcount-eos";
    private static final List<String> VOCABULARY = List.of("alpha", "bravo", "charlie", "delta", "echo", "foxtrot",
            "golf", "hotel", "india", "juliett", "kilo", "lima");
    private static final int LINES = 3_000;
    private static final int WORDS_PER_LINE = 4;
    private static final Duration COUNT_DEADLINE = Duration.ofSeconds(240);

    @RegisterExtension
    static final ClusterProcesses cluster = new ClusterProcesses(3, 3, Map.of(
            "transaction.state.log.num.partitions", "5", "log.cleaner.backoff.ms", "200"));

    /** Kept when the test fails: the app's full log is there. */
    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path work;

    @Test
    void wordCountIsExactlyOnceAcrossAKillOfTheApp() throws Exception {
        Clients.createTopic(cluster.bootstrap(), INPUT, 3, 3);
        Clients.createTopic(cluster.bootstrap(), OUTPUT, 3, 3);
        // The idempotent producer starts at once, as a user's would: a new leader that has not yet taken its
        // leadership makes the first batch wait (ProduceHandler) rather than refusing it and taking the pipelined
        // next one first (CI at e32a951 and ce94428, before the wait).
        Path config = writeConfig(work.resolve("state"));
        Map<String, Long> expected = new HashMap<>();
        produceLines(new Random(14), LINES, expected);
        long totalWords = expected.values().stream().mapToLong(Long::longValue).sum();

        Map<String, List<Long>> counts = new HashMap<>();
        try (KafkaConsumer<String, String> output = readCommitted()) {
            List<TopicPartition> partitions = Clients.partitions(OUTPUT, 3);
            output.assign(partitions);
            output.seekToBeginning(partitions);
            try (EcosystemProcess app = EcosystemProcess.start("wordcount-eos-1", work,
                    "io.tributary.ecosystem.WordCountApp", config.toString())) {
                // When: the app has committed part of the input, it is killed with SIGKILL mid-stream
                await("a third of the input counted").atMost(COUNT_DEADLINE).pollInSameThread()
                        .pollInterval(Duration.ZERO)
                        .failFast("the app exited\n" + app.outputTail(), () -> !app.isAlive())
                        .until(() -> poll(output, counts) >= totalWords / 3);
                app.close(); // SIGKILL: no commit, its open transaction is left to the coordinator
            }
            try (EcosystemProcess app = EcosystemProcess.start("wordcount-eos-2", work,
                    "io.tributary.ecosystem.WordCountApp", config.toString())) {
                // Then: the restarted app fences its predecessor, and the counts end exact
                await("every word counted exactly once").atMost(COUNT_DEADLINE).pollInSameThread()
                        .pollInterval(Duration.ZERO)
                        .failFast("the app exited\n" + app.outputTail(), () -> !app.isAlive())
                        .until(() -> {
                            poll(output, counts);
                            return latest(counts).equals(expected);
                        });
                app.stop();
                // Killed without a checkpoint, the restarted app wiped its stores (Streams logs the tasks as corrupted)
                // and restored them from the changelogs, which hold only the killed app's committed transactions.
                assertThat(app.output().lines().filter(line -> line.startsWith("RESTORED ")))
                        .as("stores restored from their changelog").isNotEmpty();
            }
        }
        counts.forEach((word, sequence) -> {
            List<Long> oneByOne = new ArrayList<>();
            for (long c = 1; c <= expected.get(word); c++) {
                oneByOne.add(c);
            }
            assertThat(sequence).as("committed counts of %s, in order", word).isEqualTo(oneByOne);
        });
    }

    /** Adds every count read to its word's sequence; returns how many counts were read so far. */
    private static long poll(KafkaConsumer<String, String> output, Map<String, List<Long>> counts) {
        for (ConsumerRecord<String, String> r : output.poll(Duration.ofMillis(200))) {
            counts.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(Long.parseLong(r.value()));
        }
        return counts.values().stream().mapToLong(List::size).sum();
    }

    private static Map<String, Long> latest(Map<String, List<Long>> counts) {
        Map<String, Long> latest = new HashMap<>();
        counts.forEach((word, sequence) -> latest.put(word, sequence.get(sequence.size() - 1)));
        return latest;
    }

    private static KafkaConsumer<String, String> readCommitted() {
        return new KafkaConsumer<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap(),
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false, ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                "read_committed", ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"), new StringDeserializer(),
                new StringDeserializer());
    }

    private Path writeConfig(Path state) throws IOException {
        Path file = work.resolve("wordcount-eos.properties");
        Files.writeString(file, String.join("\n",
                "application.id=" + APP_ID,
                "bootstrap.servers=" + cluster.bootstrap(),
                "state.dir=" + state,
                "input.topic=" + INPUT,
                "output.topic=" + OUTPUT,
                "replication.factor=3",
                "processing.guarantee=exactly_once_v2",
                "commit.interval.ms=200",
                // One output record per input word, so that the committed sequence of counts is checkable
                "statestore.cache.max.bytes=0",
                // Slow enough that the kill lands mid-stream, between commits
                "max.poll.records=50",
                "producer.transaction.timeout.ms=10000",
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
                    words.add(word);
                    expected.merge(word, 1L, Long::sum);
                }
                sent.add(producer.send(new ProducerRecord<>(INPUT, null, String.join(" ", words))));
            }
            for (Future<RecordMetadata> f : sent) {
                f.get(60, TimeUnit.SECONDS);
            }
        }
    }
}
