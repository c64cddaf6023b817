package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGKILL of a transaction coordinator while a producer commits transaction after transaction across three
 * partitions of a 3-node cluster: the new coordinator (another replica of the id's {@code __transaction_state}
 * partition) completes or aborts what the dead one left, and a read_committed consumer sees every transaction whole
 * or not at all: every acknowledged commit whole, every acknowledged abort not at all, and no transaction left
 * hanging (the last stable offset reaches the high watermark everywhere).
 */
class TransactionsIT {
    private static final String TOPIC = "ledger";
    private static final int PARTITIONS = 3;
    private static final Duration RECOVERY_DEADLINE = Duration.ofSeconds(120);

    @RegisterExtension
    static final ClusterProcesses cluster = new ClusterProcesses(3, 3, Map.of(
            "transaction.state.log.num.partitions", "5",
            "transaction.abort.timed.out.transaction.cleanup.interval.ms", "1000"));

    private static KafkaProducer<String, String> producer(String transactionalId) {
        return new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap(),
                ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId,
                ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 15_000,
                ProducerConfig.MAX_BLOCK_MS_CONFIG, 20_000,
                ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000,
                ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 20_000), new StringSerializer(), new StringSerializer());
    }

    /** What the writer learnt of each transaction: acknowledged committed, acknowledged aborted, or unknown. */
    enum Outcome { COMMITTED, ABORTED, UNKNOWN }

    @Test
    void everyTransactionIsWholeOrAbsentWhenTheCoordinatorIsKilled() throws Exception {
        Clients.createTopic(cluster.bootstrap(), TOPIC, PARTITIONS, 3);
        cluster.awaitAgreedMetadata(TOPIC);
        int controller = cluster.controllerId();
        String id = null;
        int coordinator = -1;
        try (Admin admin = Clients.admin(cluster.bootstrap())) {
            // A transactional id coordinated away from the active controller: the kill costs no controller election.
            for (int i = 0; coordinator < 0 || coordinator == controller; i++) {
                id = "ledger-writer-" + i;
                try (KafkaProducer<String, String> p = producer(id)) {
                    p.initTransactions();
                }
                coordinator = admin.describeTransactions(List.of(id)).description(id).get(30, TimeUnit.SECONDS)
                        .coordinatorId();
            }
        }
        System.out.printf("transactional id %s: coordinator node %d, controller node %d%n", id, coordinator,
                controller);

        Map<Integer, Outcome> outcomes = new ConcurrentHashMap<>();
        AtomicBoolean stop = new AtomicBoolean();
        ExecutorService writer = Executors.newSingleThreadExecutor();
        String transactionalId = id;
        Future<?> writing = writer.submit(() -> writeTransactions(transactionalId, outcomes, stop));
        try {
            await("10 transactions committed").atMost(RECOVERY_DEADLINE).pollInterval(Duration.ofMillis(100))
                    .until(() -> committed(outcomes) >= 10 || writing.isDone());
            // When: the coordinator dies in the middle of the stream of transactions
            cluster.kill(coordinator);
            int before = committed(outcomes);
            // Then: the producer finds the new coordinator and commits again
            await("10 more transactions committed after the kill").atMost(RECOVERY_DEADLINE)
                    .pollInterval(Duration.ofMillis(100))
                    .until(() -> committed(outcomes) >= before + 10 || writing.isDone());
        } finally {
            stop.set(true);
            writer.shutdown();
        }
        writing.get(120, TimeUnit.SECONDS);
        System.out.printf("outcomes: %s%n", count(outcomes));

        // Then: every transaction is visible whole or not at all, as its acknowledgement says
        assertWholeOrAbsent(outcomes);

        // And once the killed node is back, its replicas bring nothing half-applied back
        cluster.restartDeadNodes();
        cluster.awaitHealthy();
        assertWholeOrAbsent(outcomes);
    }

    /**
     * Kafka's own tools: {@code kafka-producer-perf-test --transactional-id} commits its transactions, and
     * {@code kafka-transactions list} and {@code describe} show the id.
     */
    @Test
    void kafkaProducerPerfTestWithATransactionalIdAndKafkaTransactionsWork(@TempDir Path workDir) throws Exception {
        Clients.createTopic(cluster.bootstrap(), "perf-tx", PARTITIONS, 3);
        cluster.awaitAgreedMetadata("perf-tx");
        ExternalCommand.Result perf = tool(workDir, "org.apache.kafka.tools.ProducerPerformance", "--topic", "perf-tx",
                "--num-records", "3000", "--record-size", "100", "--throughput", "-1",
                "--transactional-id", "perf-writer", "--transaction-duration-ms", "200",
                "--producer-props", "bootstrap.servers=" + cluster.bootstrap(), "acks=all");
        assertThat(perf.exitCode()).as("kafka-producer-perf-test: %s", perf).isZero();
        assertThat(perf.stdout()).contains("3000 records sent");
        // Every record committed: read_committed reaches all 3,000.
        try (KafkaConsumer<String, String> committed = consumer("read_committed")) {
            List<TopicPartition> partitions = List.of(new TopicPartition("perf-tx", 0),
                    new TopicPartition("perf-tx", 1), new TopicPartition("perf-tx", 2));
            committed.assign(partitions);
            committed.seekToBeginning(partitions);
            int[] read = new int[1];
            await("read_committed reads the 3,000 committed records").atMost(RECOVERY_DEADLINE)
                    .pollInterval(Duration.ZERO).until(() -> {
                        read[0] += committed.poll(Duration.ofMillis(200)).count();
                        return read[0] >= 3000;
                    });
            assertThat(read[0]).isEqualTo(3000);
        }
        ExternalCommand.Result list = tool(workDir, "org.apache.kafka.tools.TransactionsCommand",
                "--bootstrap-server", cluster.bootstrap(), "list");
        assertThat(list.exitCode()).as("kafka-transactions list: %s", list).isZero();
        assertThat(list.stdout()).contains("perf-writer");
        ExternalCommand.Result describe = tool(workDir, "org.apache.kafka.tools.TransactionsCommand",
                "--bootstrap-server", cluster.bootstrap(), "describe", "--transactional-id", "perf-writer");
        assertThat(describe.exitCode()).as("kafka-transactions describe: %s", describe).isZero();
        assertThat(describe.stdout()).contains("perf-writer").containsAnyOf("CompleteCommit", "Ongoing",
                "PrepareCommit");
        // The coordinators' metrics: the id counted under its state by the node coordinating it
        await("the transactional id in the metrics").atMost(RECOVERY_DEADLINE).pollInterval(Duration.ofMillis(500))
                .ignoreExceptions().until(() -> {
                    double ids = 0;
                    for (int node : cluster.liveIds()) {
                        PrometheusScrape scrape = PrometheusScrape.of(cluster.metricsPort(node));
                        assertThat(scrape.text()).contains("tributary_txn_coordinator_queue_calls");
                        ids += scrape.sum("tributary_txn_transactional_ids");
                    }
                    return ids >= 1;
                });
    }

    /** Runs one of Kafka's tools (kafka-tools from Maven Central) in its own JVM. */
    private static ExternalCommand.Result tool(Path workDir, String mainClass, String... args) {
        Path jars = Path.of(System.getProperty("kafka.tools.dir", "target/kafka-tools")).toAbsolutePath();
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m", "-cp",
                jars + "/*", mainClass));
        command.addAll(List.of(args));
        return ExternalCommand.run(command, "", Duration.ofSeconds(180), workDir);
    }

    private static int committed(Map<Integer, Outcome> outcomes) {
        return (int) outcomes.values().stream().filter(o -> o == Outcome.COMMITTED).count();
    }

    private static Map<Outcome, Long> count(Map<Integer, Outcome> outcomes) {
        Map<Outcome, Long> counts = new TreeMap<>();
        outcomes.values().forEach(o -> counts.merge(o, 1L, Long::sum));
        return counts;
    }

    /**
     * Transaction {@code i} writes {@code i-p} to each partition p, then commits; every third is aborted instead.
     * A failed commit (a timeout is retried) leaves the outcome unknown, and a new producer with the same id
     * takes over (its initTransactions completes or aborts what the old one left).
     */
    private static Void writeTransactions(String id, Map<Integer, Outcome> outcomes, AtomicBoolean stop) {
        KafkaProducer<String, String> producer = null;
        try {
            for (int i = 0; !stop.get(); i++) {
                if (producer == null) {
                    producer = producer(id);
                    try {
                        producer.initTransactions();
                    } catch (KafkaException e) {
                        System.out.printf("initTransactions failed, retrying: %s%n", e);
                        producer.close(Duration.ZERO);
                        producer = null;
                        continue;
                    }
                }
                outcomes.put(i, Outcome.UNKNOWN);
                boolean abort = i % 3 == 2;
                try {
                    producer.beginTransaction();
                    for (int p = 0; p < PARTITIONS; p++) {
                        producer.send(new ProducerRecord<>(TOPIC, p, Integer.toString(i), i + "-" + p));
                    }
                    if (abort) {
                        producer.flush();
                        producer.abortTransaction();
                        outcomes.put(i, Outcome.ABORTED);
                    } else {
                        commitRetryingTimeouts(producer);
                        outcomes.put(i, Outcome.COMMITTED);
                    }
                } catch (KafkaException e) {
                    System.out.printf("transaction %d failed (outcome unknown): %s%n", i, e);
                    producer.close(Duration.ZERO);
                    producer = null;
                }
            }
        } finally {
            if (producer != null) {
                producer.close(Duration.ofSeconds(10));
            }
        }
        return null;
    }

    private static void commitRetryingTimeouts(KafkaProducer<String, String> producer) {
        for (int attempt = 0; ; attempt++) {
            try {
                producer.commitTransaction();
                return;
            } catch (TimeoutException e) {
                if (attempt >= 5) {
                    throw e;
                }
                System.out.printf("commit timed out, retrying: %s%n", e);
            }
        }
    }

    /**
     * Reads every partition with read_committed once no transaction is left open (the last stable offset at the high
     * watermark), and checks each transaction against what its producer was told.
     */
    private static void assertWholeOrAbsent(Map<Integer, Outcome> outcomes) {
        Map<Integer, Set<Integer>> visible = new HashMap<>();
        try (KafkaConsumer<String, String> committed = consumer("read_committed");
                KafkaConsumer<String, String> uncommitted = consumer("read_uncommitted")) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (int p = 0; p < PARTITIONS; p++) {
                partitions.add(new TopicPartition(TOPIC, p));
            }
            // Transactions the dead coordinator left are completed by its successor, or aborted on their timeout.
            await("no transaction left open: the last stable offset at the high watermark").atMost(RECOVERY_DEADLINE)
                    .pollInterval(Duration.ofMillis(500)).ignoreExceptions()
                    .until(() -> committed.endOffsets(partitions).equals(uncommitted.endOffsets(partitions)));
            Map<TopicPartition, Long> ends = committed.endOffsets(partitions);
            committed.assign(partitions);
            committed.seekToBeginning(partitions);
            await("read_committed reads to the end").atMost(RECOVERY_DEADLINE).pollInterval(Duration.ZERO)
                    .until(() -> {
                        for (ConsumerRecord<String, String> r : committed.poll(Duration.ofMillis(200))) {
                            visible.computeIfAbsent(Integer.parseInt(r.key()), k -> new java.util.TreeSet<>())
                                    .add(r.partition());
                        }
                        return partitions.stream().allMatch(tp -> committed.position(tp) >= ends.get(tp));
                    });
        }
        Set<Integer> all = Set.of(0, 1, 2);
        visible.forEach((txn, parts) -> assertThat(parts).as("partitions showing transaction %d (%s)", txn,
                outcomes.get(txn)).isEqualTo(all));
        outcomes.forEach((txn, outcome) -> {
            if (outcome == Outcome.COMMITTED) {
                assertThat(visible).as("committed transaction %d is visible", txn).containsKey(txn);
            } else if (outcome == Outcome.ABORTED) {
                assertThat(visible).as("aborted transaction %d is not visible", txn).doesNotContainKey(txn);
            }
        });
    }

    private static KafkaConsumer<String, String> consumer(String isolation) {
        return new KafkaConsumer<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap(),
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false, ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation,
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"), new StringDeserializer(),
                new StringDeserializer());
    }
}
