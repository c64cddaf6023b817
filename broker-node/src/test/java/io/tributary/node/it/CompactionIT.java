package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.tributary.node.it.StoredLog.StoredRecord;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 13: a topic with {@code cleanup.policy=compact} on three real nodes. Many updates to few keys and tombstones
 * end, on every replica, with exactly each key's latest value at the offset it was acknowledged at, tombstoned keys
 * gone after {@code delete.retention.ms}; a consumer from the beginning sees every key's latest value; a record
 * without a key is refused.
 */
class CompactionIT {
    private static final String TOPIC = "compacted";
    private static final int KEYS = 10;
    private static final int TOMBSTONED = 2; // the last two keys are deleted
    private static final Duration COMPACTED_DEADLINE = Duration.ofSeconds(90);

    @RegisterExtension
    static final ClusterProcesses cluster = new ClusterProcesses(3, 3, Map.of("log.cleaner.backoff.ms", "200"));

    @Test
    void everyReplicaEndsWithEachKeysLatestValueAndNoTombstonedKey() throws Exception {
        Clients.createTopic(cluster.bootstrap(), TOPIC, 1, 3, Map.of("cleanup.policy", "compact",
                "segment.bytes", "16384", "min.cleanable.dirty.ratio", "0.01", "delete.retention.ms", "1000"));
        cluster.awaitFullIsr(TOPIC, 0, ClusterProcesses.HEALTH_DEADLINE);

        Map<String, Long> latestOffset = new HashMap<>();
        Map<String, String> latestValue = new HashMap<>();
        try (KafkaProducer<String, String> producer = Clients.producer(cluster.bootstrap(),
                Map.of(ProducerConfig.BATCH_SIZE_CONFIG, 1024))) {
            // Many updates to few keys, then tombstones for the last keys
            List<String[]> first = new java.util.ArrayList<>();
            for (int seq = 0; seq < 3_000; seq++) {
                first.add(new String[] {"k" + (seq % KEYS), "k" + (seq % KEYS) + "=" + seq});
            }
            for (int k = KEYS - TOMBSTONED; k < KEYS; k++) {
                first.add(new String[] {"k" + k, null});
            }
            send(producer, first, latestOffset, latestValue);
            // Every replica compacts once; then new updates, and filler with unique keys that pushes them and the
            // tombstones out of the active segment. The tombstones go 1 s after the clean that first keeps them.
            awaitCompactedOnEveryNode(() -> true);
            List<String[]> second = new java.util.ArrayList<>();
            for (int seq = 3_000; seq < 3_500; seq++) {
                int k = seq % (KEYS - TOMBSTONED);
                second.add(new String[] {"k" + k, "k" + k + "=" + seq});
            }
            for (int f = 0; f < 400; f++) {
                second.add(new String[] {"filler" + f, "filler" + f + "=x"});
            }
            send(producer, second, latestOffset, latestValue);
        }

        awaitCompactedOnEveryNode(() -> {
            for (int node = 1; node <= 3; node++) {
                List<StoredRecord> stored = StoredLog.records(cluster.node(node).partitionLogBytes(TOPIC, 0));
                Map<String, Integer> copies = new HashMap<>();
                for (StoredRecord r : stored) {
                    if (r.value() == null) {
                        return false; // a tombstone still there
                    }
                    String key = r.value().substring(0, r.value().indexOf('='));
                    copies.merge(key, 1, Integer::sum);
                    if (key.startsWith("k")) {
                        // an old value of a live key, or any value of a deleted one, is still there
                        if (!r.value().equals(latestValue.get(key)) || r.offset() != latestOffset.get(key)) {
                            return false;
                        }
                    }
                }
                for (int k = 0; k < KEYS - TOMBSTONED; k++) {
                    if (copies.getOrDefault("k" + k, 0) != 1) {
                        return false;
                    }
                }
            }
            return true;
        });

        // Every replica reports, per compacted partition, when it last compacted it and how dirty it is: the last
        // clean left the filler's segments clean, so not all is dirty (the gauges refresh every 2 s)
        String topicLabel = "topic=\"" + TOPIC + "\"";
        await("cleaner gauges").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            for (int node = 1; node <= 3; node++) {
                PrometheusScrape scrape = PrometheusScrape.of(cluster.metricsPort(node));
                assertThat(scrape.sum("tributary_log_cleaner_time_since_last_clean_milliseconds", topicLabel))
                        .as("node " + node).isPositive();
                assertThat(scrape.text().lines().anyMatch(line -> line.startsWith(
                        "tributary_log_cleaner_dirty_percent{") && line.contains(topicLabel))).as("node " + node).isTrue();
                assertThat(scrape.sum("tributary_log_cleaner_dirty_percent", topicLabel)).as("node " + node)
                        .isBetween(0.0, 99.0);
            }
        });

        // A reader from the beginning sees every live key's latest value and no deleted key
        Map<String, String> read = Clients.readLatestValues(cluster.bootstrap(), TOPIC, 0);
        for (int k = 0; k < KEYS - TOMBSTONED; k++) {
            assertThat(read.get("k" + k)).isEqualTo(latestValue.get("k" + k));
        }
        for (int k = KEYS - TOMBSTONED; k < KEYS; k++) {
            assertThat(read).doesNotContainKey("k" + k);
        }
    }

    /**
     * Readers from the beginning while the leader compacts under them: each pass, read up to the end offset it
     * started at, sees for every key the value last acknowledged before it started, or a newer one, never an older one
     * and never nothing.
     */
    @Test
    void aReaderFromTheBeginningDuringCleaningSeesEveryKeysLatestValue() throws Exception {
        String topic = "compacted-live";
        Clients.createTopic(cluster.bootstrap(), topic, 1, 3, Map.of("cleanup.policy", "compact",
                "segment.bytes", "16384", "min.cleanable.dirty.ratio", "0.01"));
        cluster.awaitFullIsr(topic, 0, ClusterProcesses.HEALTH_DEADLINE);
        Map<String, Long> ackedSeq = new java.util.concurrent.ConcurrentHashMap<>();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Exception> sendFailure = new AtomicReference<>();
        Thread writer = new Thread(() -> {
            try (KafkaProducer<String, String> producer = Clients.producer(cluster.bootstrap(),
                    Map.of(ProducerConfig.BATCH_SIZE_CONFIG, 2048))) {
                for (long seq = 0; !stop.get(); seq++) {
                    String key = "k" + (seq % KEYS);
                    long sent = seq;
                    producer.send(new ProducerRecord<>(topic, 0, key, key + "=" + seq), (md, e) -> {
                        if (e != null) {
                            sendFailure.compareAndSet(null, e);
                        } else {
                            ackedSeq.merge(key, sent, Math::max);
                        }
                    });
                    if (seq % 1_000 == 999) {
                        producer.flush();
                    }
                }
            }
        }, "compaction-it-writer");
        writer.start();
        double[] runsBefore = cleanerRuns();
        int passes = 0;
        try (KafkaConsumer<String, String> consumer = Clients.consumer(cluster.bootstrap())) {
            TopicPartition tp = new TopicPartition(topic, 0);
            consumer.assign(List.of(tp));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (passes < 10 || !everyNodeCleanedSince(runsBefore, 3)) {
                assertThat(System.nanoTime()).as("10 passes and 3 cleans on every node within 120 s")
                        .isLessThan(deadline);
                assertThat(sendFailure.get()).isNull();
                Map<String, Long> before = new HashMap<>(ackedSeq);
                long end = consumer.endOffsets(List.of(tp)).get(tp);
                consumer.seekToBeginning(List.of(tp));
                Map<String, Long> read = new HashMap<>();
                while (consumer.position(tp) < end) {
                    assertThat(System.nanoTime()).as("pass " + passes + " read to " + end).isLessThan(deadline);
                    for (var r : consumer.poll(Duration.ofMillis(200))) {
                        if (r.offset() < end) {
                            read.merge(r.key(), Long.parseLong(r.value().substring(r.value().indexOf('=') + 1)),
                                    Math::max);
                        }
                    }
                }
                int pass = passes;
                before.forEach((key, seq) -> assertThat(read.get(key)).as("pass " + pass + ", key " + key)
                        .isNotNull().isGreaterThanOrEqualTo(seq));
                passes++;
            }
        } finally {
            stop.set(true);
            writer.join(TimeUnit.SECONDS.toMillis(60));
        }
        assertThat(sendFailure.get()).isNull();
    }

    private static double[] cleanerRuns() {
        double[] runs = new double[4];
        for (int node = 1; node <= 3; node++) {
            runs[node] = PrometheusScrape.of(cluster.metricsPort(node)).sum("tributary_log_cleaner_runs_total");
        }
        return runs;
    }

    private static boolean everyNodeCleanedSince(double[] before, int cleans) {
        double[] now = cleanerRuns();
        for (int node = 1; node <= 3; node++) {
            if (now[node] - before[node] < cleans) {
                return false;
            }
        }
        return true;
    }

    @Test
    void aRecordWithoutAKeyIsRefusedOnACompactedTopic() {
        Clients.createTopic(cluster.bootstrap(), "compacted-keys", 1, 3, Map.of("cleanup.policy", "compact,delete"));
        // Every node knows the leader first: with retries=0 a send racing the election fails NOT_LEADER_OR_FOLLOWER
        cluster.awaitAgreedMetadata("compacted-keys");
        try (KafkaProducer<String, String> producer = Clients.producer(cluster.bootstrap(), Map.of(
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false, ProducerConfig.ACKS_CONFIG, "1",
                ProducerConfig.RETRIES_CONFIG, 0))) {
            assertThatThrownBy(() -> producer.send(new ProducerRecord<>("compacted-keys", null, "no key"))
                    .get(60, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(InvalidRecordException.class);
        }
    }

    /**
     * Sends the (key, value) pairs, then records each key's acknowledged offset and value: one partition, one
     * idempotent producer, so they are acknowledged in the order sent and the last send of a key is its latest.
     */
    private static void send(KafkaProducer<String, String> producer, List<String[]> records,
            Map<String, Long> latestOffset, Map<String, String> latestValue) throws Exception {
        List<java.util.concurrent.Future<org.apache.kafka.clients.producer.RecordMetadata>> sent =
                new java.util.ArrayList<>();
        for (String[] kv : records) {
            sent.add(producer.send(new ProducerRecord<>(TOPIC, 0, kv[0], kv[1])));
        }
        for (int i = 0; i < records.size(); i++) {
            String key = records.get(i)[0];
            String value = records.get(i)[1];
            latestOffset.put(key, sent.get(i).get(60, TimeUnit.SECONDS).offset());
            if (value == null) {
                latestValue.remove(key);
            } else {
                latestValue.put(key, value);
            }
        }
    }

    /** Waits until {@code done} and every node has compacted at least once (its stored log is smaller than sent). */
    private static void awaitCompactedOnEveryNode(java.util.concurrent.Callable<Boolean> done) {
        await("compacted on every replica").atMost(COMPACTED_DEADLINE).pollInterval(Duration.ofMillis(500))
                .ignoreExceptions()
                .until(() -> {
                    for (int node = 1; node <= 3; node++) {
                        if (PrometheusScrape.of(cluster.metricsPort(node)).sum("tributary_log_cleaner_runs_total")
                                < 1) {
                            return false;
                        }
                    }
                    return done.call();
                });
    }
}
