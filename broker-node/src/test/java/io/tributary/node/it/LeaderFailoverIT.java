package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tributary.node.it.KafkaRequests.PartitionState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 4, "Done when": the leader's process is killed with SIGKILL while an idempotent producer with acks=all is
 * sending: a new leader from the ISR serves within 5 s at default settings; every acknowledged record is read back
 * exactly once; no consumer-visible offset ever moves backwards. Repeated for five kills in a row.
 *
 * <p>The nodes run with their default {@code broker.session.timeout.ms} and {@code broker.heartbeat.interval.ms}:
 * the 5 s claim is about those. The killed node is never the active metadata controller: a controller fail-over
 * first elects a controller, which then gives every broker a fresh session before it can fence the dead one (as in
 * Kafka's KRaft); that is issue 3's subject, not this one.
 *
 * <p>"Serves" is measured from just before the SIGKILL to the first acknowledgement, by the producer's callback, of a
 * record sent to a partition the killed node led after the killed process was gone: the old leader cannot have
 * answered it, so it is the first acks=all produce the new leader completed. It includes the producer's own time to
 * notice the new leader (its metadata refresh backoff is lowered to 250 ms).
 */
class LeaderFailoverIT {
    private static final int NODES = 3;
    private static final int PARTITIONS = 6;
    private static final int KILLS = 5;
    private static final String TOPIC = "failover";
    private static final Duration MAX_GAP = Duration.ofSeconds(5);
    /** One record per this many nanoseconds: about 2,000 records/s, so that the load does not starve the nodes. */
    private static final long SEND_INTERVAL_NS = TimeUnit.MICROSECONDS.toNanos(500);
    private static final int PROGRESS_PER_ROUND = 2_000;
    private static final Duration ROUND_DEADLINE = Duration.ofSeconds(60);
    private static final Duration DRAIN_DEADLINE = Duration.ofSeconds(90);

    @RegisterExtension
    static final ClusterProcesses cluster = ClusterProcesses.atDefaultTimeouts(NODES, NODES, Map.of());

    /** A record the producer had acknowledged: where it went and when it was sent and acknowledged. */
    record Ack(int partition, long offset, long sentAtNs, long ackedAtNs) {}

    /** A record the concurrent consumer saw. */
    record Seen(int partition, long offset, String value) {}

    private final ConcurrentMap<String, Ack> acked = new ConcurrentHashMap<>();
    private final AtomicLong ackedCount = new AtomicLong();
    private final ConcurrentLinkedQueue<String> sendFailures = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<String> consumerProblems = new ConcurrentLinkedQueue<>();
    private final ConcurrentMap<Integer, Long> consumerLastOffset = new ConcurrentHashMap<>();
    private final List<Seen> seen = Collections.synchronizedList(new ArrayList<>());

    @Test
    void servesFromANewIsrLeaderWithin5sOfEachOfFiveLeaderKillsAndLosesNoAcknowledgedRecord() throws Exception {
        // Given an RF 3 topic, an idempotent acks=all producer sending unique values and a consumer reading along
        Clients.createTopic(cluster.bootstrap(), TOPIC, PARTITIONS, NODES, Map.of("min.insync.replicas", "2"));
        awaitFullIsrEverywhere();
        AtomicBoolean sending = new AtomicBoolean(true);
        AtomicBoolean consuming = new AtomicBoolean(true);
        KafkaProducer<String, String> producer = Clients.producer(cluster.bootstrap(), Map.of(
                ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 60_000,
                ProducerConfig.MAX_BLOCK_MS_CONFIG, 60_000,
                CommonClientConfigs.RETRY_BACKOFF_MS_CONFIG, 50,
                CommonClientConfigs.RETRY_BACKOFF_MAX_MS_CONFIG, 250,
                CommonClientConfigs.RECONNECT_BACKOFF_MAX_MS_CONFIG, 250));
        Thread sender = new Thread(() -> send(producer, sending), "failover-it-sender");
        Thread reader = new Thread(() -> consume(consuming), "failover-it-consumer");
        sender.start();
        reader.start();
        List<String> gaps = new ArrayList<>();
        List<Long> gapsMs = new ArrayList<>();
        try {
            for (int round = 1; round <= KILLS; round++) {
                long target = ackedCount.get() + PROGRESS_PER_ROUND;
                await("round " + round + ": " + PROGRESS_PER_ROUND + " more records acknowledged")
                        .atMost(ROUND_DEADLINE)
                        .pollInterval(Duration.ofMillis(100))
                        .until(() -> ackedCount.get() >= target || !sendFailures.isEmpty());
                assertThat(sendFailures).as("failed sends").isEmpty();

                // When the leader of some partitions (not the active controller) is SIGKILLed
                int controller = cluster.controllerId();
                Map<Integer, PartitionState> before = cluster.awaitAgreedMetadata(TOPIC).topic(TOPIC).partitions();
                int victim = before.values().stream().map(PartitionState::leader).filter(id -> id != controller)
                        .findFirst()
                        .orElseThrow(() -> new AssertionError("every partition is led by the active controller "
                                + controller + ": " + before));
                List<Integer> ledByVictim = before.entrySet().stream()
                        .filter(e -> e.getValue().leader() == victim).map(Map.Entry::getKey).toList();
                long killStartNs = System.nanoTime();
                cluster.kill(victim);
                long killedNs = System.nanoTime();

                // Then each of its partitions gets a leader from its ISR with a higher epoch, which acknowledges a
                // record sent after the kill within 5 s of it
                for (int partition : ledByVictim) {
                    PartitionState old = before.get(partition);
                    cluster.awaitPartition(TOPIC, partition, "a new leader from " + old.isr() + " with an epoch above "
                            + old.leaderEpoch(),
                            state -> state.leader() >= 0 && state.leader() != victim
                                    && old.isr().contains(state.leader()) && state.leaderEpoch() > old.leaderEpoch(),
                            ROUND_DEADLINE);
                    long[] firstAckNs = new long[1];
                    await("partition " + partition + ": a record sent after node " + victim + " died acknowledged")
                            .atMost(ROUND_DEADLINE)
                            .pollInterval(Duration.ofMillis(50))
                            .until(() -> {
                                firstAckNs[0] = firstAckOfRecordSentAfter(partition, killedNs);
                                return firstAckNs[0] != Long.MAX_VALUE || !sendFailures.isEmpty();
                            });
                    assertThat(sendFailures).as("failed sends").isEmpty();
                    long gapMs = TimeUnit.NANOSECONDS.toMillis(firstAckNs[0] - killStartNs);
                    gapsMs.add(gapMs);
                    gaps.add("kill " + round + " (node " + victim + "), partition " + partition + ": " + gapMs + " ms");
                }
                System.out.printf("LeaderFailoverIT: %s%n", gaps.subList(gaps.size() - ledByVictim.size(),
                        gaps.size()));

                // And the killed node, restarted, catches up and rejoins every ISR before the next kill
                cluster.restart(victim);
                awaitFullIsrEverywhere();
            }
        } finally {
            sending.set(false);
            sender.join(TimeUnit.SECONDS.toMillis(90));
            producer.close(Duration.ofSeconds(60)); // completes or fails every outstanding send
        }
        assertThat(sender.isAlive()).as("sender thread stopped").isFalse();
        assertThat(sendFailures).as("failed sends").isEmpty();
        System.out.printf("LeaderFailoverIT: %d records acknowledged; gaps %s%n", ackedCount.get(), gaps);
        assertThat(gapsMs).as("ms from SIGKILL to the first acks=all produce served by a new leader: %s", gaps)
                .hasSizeGreaterThanOrEqualTo(KILLS)
                .allSatisfy(gap -> assertThat(gap).isLessThan(MAX_GAP.toMillis()));

        // And the concurrent consumer reads up to the end, having never gone backwards or seen a record twice
        Map<TopicPartition, Long> endOffsets = endOffsets();
        try {
            await("the concurrent consumer reaching the end offsets " + endOffsets)
                    .atMost(DRAIN_DEADLINE)
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> !consumerProblems.isEmpty() || endOffsets.entrySet().stream().allMatch(e ->
                            consumerLastOffset.getOrDefault(e.getKey().partition(), -1L) >= e.getValue() - 1));
        } finally {
            consuming.set(false);
            reader.join(TimeUnit.SECONDS.toMillis(30));
        }
        assertThat(consumerProblems).as("what the concurrent consumer saw go wrong").isEmpty();

        // And reading the topic again from the start finds every acknowledged record exactly once, at its
        // acknowledged offset, and every record the concurrent consumer saw where it saw it
        assertExactlyOnce(readAll(endOffsets));
    }

    private void send(KafkaProducer<String, String> producer, AtomicBoolean sending) {
        long nextNs = System.nanoTime();
        for (long seq = 0; sending.get(); seq++) {
            int partition = (int) (seq % PARTITIONS);
            String value = "seq-" + seq;
            long sentAtNs = System.nanoTime();
            try {
                producer.send(new ProducerRecord<>(TOPIC, partition, null, value), (metadata, error) -> {
                    if (error != null) {
                        sendFailures.add(value + " to partition " + partition + ": " + error);
                        return;
                    }
                    Ack previous = acked.put(value,
                            new Ack(metadata.partition(), metadata.offset(), sentAtNs, System.nanoTime()));
                    if (previous != null) {
                        sendFailures.add(value + " acknowledged twice: " + previous);
                    }
                    ackedCount.incrementAndGet();
                });
            } catch (RuntimeException e) {
                sendFailures.add(value + " refused by send(): " + e);
            }
            nextNs += SEND_INTERVAL_NS;
            long aheadNs = nextNs - System.nanoTime();
            if (aheadNs > 0) {
                LockSupport.parkNanos(aheadNs); // pacing the load, not waiting for a condition
            } else if (aheadNs < -TimeUnit.SECONDS.toNanos(1)) {
                nextNs = System.nanoTime(); // send() blocked a while: do not burst to catch up
            }
        }
    }

    private void consume(AtomicBoolean consuming) {
        Map<String, Seen> seenValues = new HashMap<>();
        try (KafkaConsumer<String, String> consumer = strictConsumer()) {
            List<TopicPartition> partitions = Clients.partitions(TOPIC, PARTITIONS);
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            while (consuming.get()) {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(100))) {
                    Seen now = new Seen(record.partition(), record.offset(), record.value());
                    long last = consumerLastOffset.getOrDefault(record.partition(), -1L);
                    if (record.offset() <= last) {
                        consumerProblems.add("partition " + record.partition() + ": offset " + record.offset()
                                + " after offset " + last);
                    }
                    Seen earlier = seenValues.put(record.value(), now);
                    if (earlier != null) {
                        consumerProblems.add("value read twice: " + earlier + " and " + now);
                    }
                    consumerLastOffset.put(record.partition(), Math.max(last, record.offset()));
                    seen.add(now);
                }
            }
        } catch (RuntimeException e) {
            // With auto.offset.reset=none, a position the new leader does not have surfaces here.
            consumerProblems.add("consumer failed: " + e);
        }
    }

    /** A consumer that never resets its position (a reset would re-read records or skip them). */
    private static KafkaConsumer<String, String> strictConsumer() {
        return new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap(),
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none",
                ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000,
                ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 60_000,
                CommonClientConfigs.RETRY_BACKOFF_MS_CONFIG, 50,
                CommonClientConfigs.RETRY_BACKOFF_MAX_MS_CONFIG, 250,
                CommonClientConfigs.RECONNECT_BACKOFF_MAX_MS_CONFIG, 250),
                new StringDeserializer(), new StringDeserializer());
    }

    /** The earliest acknowledgement time of a record sent to {@code partition} after {@code afterNs}. */
    private long firstAckOfRecordSentAfter(int partition, long afterNs) {
        long first = Long.MAX_VALUE;
        for (Ack ack : acked.values()) {
            if (ack.partition() == partition && ack.sentAtNs() > afterNs) {
                first = Math.min(first, ack.ackedAtNs());
            }
        }
        return first;
    }

    private static void awaitFullIsrEverywhere() {
        for (int partition = 0; partition < PARTITIONS; partition++) {
            cluster.awaitFullIsr(TOPIC, partition, ROUND_DEADLINE);
        }
    }

    private static Map<TopicPartition, Long> endOffsets() {
        try (KafkaConsumer<String, String> consumer = strictConsumer()) {
            return consumer.endOffsets(Clients.partitions(TOPIC, PARTITIONS));
        }
    }

    /** Every record from the beginning up to {@code endOffsets}, read by a fresh consumer. */
    private static List<ConsumerRecord<String, String>> readAll(Map<TopicPartition, Long> endOffsets) {
        List<ConsumerRecord<String, String>> records = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = strictConsumer()) {
            consumer.assign(endOffsets.keySet());
            consumer.seekToBeginning(endOffsets.keySet());
            await("reading " + TOPIC + " up to " + endOffsets)
                    .atMost(DRAIN_DEADLINE)
                    .pollInSameThread() // KafkaConsumer belongs to one thread
                    .pollInterval(Duration.ZERO)
                    .until(() -> {
                        consumer.poll(Duration.ofMillis(200)).forEach(records::add);
                        return endOffsets.entrySet().stream()
                                .allMatch(e -> consumer.position(e.getKey()) >= e.getValue());
                    });
        }
        return records;
    }

    private void assertExactlyOnce(List<ConsumerRecord<String, String>> records) {
        Map<String, List<ConsumerRecord<String, String>>> byValue = new HashMap<>();
        Map<Integer, Map<Long, String>> byOffset = new HashMap<>();
        for (ConsumerRecord<String, String> record : records) {
            byValue.computeIfAbsent(record.value(), v -> new ArrayList<>()).add(record);
            byOffset.computeIfAbsent(record.partition(), p -> new HashMap<>()).put(record.offset(), record.value());
        }
        List<String> problems = new ArrayList<>();
        byValue.forEach((value, copies) -> {
            if (copies.size() > 1) {
                problems.add(value + " stored " + copies.size() + " times: " + copies.stream()
                        .map(r -> r.partition() + "@" + r.offset()).toList());
            }
        });
        acked.forEach((value, ack) -> {
            String stored = byOffset.getOrDefault(ack.partition(), Map.of()).get(ack.offset());
            if (!value.equals(stored)) {
                problems.add(value + " acknowledged at " + ack.partition() + "@" + ack.offset() + " but "
                        + (stored == null ? "missing there" : stored + " is there"));
            }
        });
        synchronized (seen) {
            for (Seen record : seen) {
                String stored = byOffset.getOrDefault(record.partition(), Map.of()).get(record.offset());
                if (!record.value().equals(stored)) {
                    problems.add("consumer saw " + record + " but " + stored + " is there now");
                }
            }
        }
        System.out.printf("LeaderFailoverIT: %d records read back, %d acknowledged, %d seen by the concurrent"
                + " consumer%n", records.size(), acked.size(), seen.size());
        assertThat(problems.subList(0, Math.min(problems.size(), 50)))
                .as("lost, duplicated or moved records (%d problems)", problems.size()).isEmpty();
    }
}
