package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tributary.node.it.KafkaRequests.FetchAnswer;
import io.tributary.node.it.KafkaRequests.FetchedRecord;
import io.tributary.node.it.KafkaRequests.PartitionState;
import io.tributary.node.it.KafkaRequests.ProduceAnswer;
import io.tributary.node.it.StoredLog.StoredRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 4, "Done when": a consumer never reads above the high watermark.
 *
 * <p>Both followers of a partition are SIGSTOPped while staying in the ISR (session timeout and lag time are
 * {@value #TIMEOUT_MS} ms here, far above the few seconds they are stopped), so the high watermark, the minimum log
 * end offset over the ISR, cannot move. The leader takes acks=1 records, which it stores; neither a KafkaConsumer
 * nor a raw Fetch nor ListOffsets shows them until the followers are resumed and fetch them. An acks=all batch sent
 * meanwhile is answered REQUEST_TIMED_OUT at its request timeout, and becomes visible with the others.
 *
 * <p>Three nodes, only node 1 a voter; the partition under test is led by node 1, so stopping its followers never
 * touches the metadata quorum.
 */
class HighWatermarkIT {
    private static final int NODES = 3;
    private static final int VOTERS = 1;
    private static final int PARTITIONS = 3;
    private static final String TOPIC = "high-watermark";
    private static final long TIMEOUT_MS = 30_000;
    private static final int LEADER = 1;
    private static final int BATCH = 10;
    private static final Duration INVISIBLE_FOR = Duration.ofSeconds(3);
    private static final Duration VISIBLE_DEADLINE = Duration.ofSeconds(30);

    @RegisterExtension
    static final ClusterProcesses cluster = new ClusterProcesses(NODES, VOTERS, Map.of(
            "broker.session.timeout.ms", Long.toString(TIMEOUT_MS),
            "broker.heartbeat.interval.ms", "500",
            "replica.lag.time.max.ms", Long.toString(TIMEOUT_MS)));

    @Test
    void showsNoRecordAboveTheHighWatermarkWhileTheFollowersHaveNotFetchedIt() {
        // Given a partition led by node 1 with three in-sync replicas and ten committed records, read by a consumer
        Clients.createTopic(cluster.bootstrap(), TOPIC, PARTITIONS, NODES, Map.of("min.insync.replicas", "2"));
        int partitionIndex = IntStream.range(0, PARTITIONS)
                .filter(p -> cluster.awaitFullIsr(TOPIC, p, ClusterProcesses.HEALTH_DEADLINE).leader() == LEADER)
                .findFirst()
                .orElseThrow(() -> new AssertionError("no partition of " + TOPIC + " led by node " + LEADER));
        TopicPartition partition = new TopicPartition(TOPIC, partitionIndex);
        PartitionState initial = cluster.awaitFullIsr(TOPIC, partitionIndex, ClusterProcesses.HEALTH_DEADLINE);
        List<Integer> followers = initial.replicas().stream().filter(id -> id != LEADER).toList();
        int port = cluster.port(LEADER);
        ProduceAnswer committed = KafkaRequests.produceUntilAccepted(port, partition, KafkaRequests.ACKS_ALL,
                FollowerFailureIT.values("committed", BATCH), ClusterProcesses.HEALTH_DEADLINE);
        long highWatermark = KafkaRequests.latestOffset(port, partition);
        assertThat(highWatermark).as("high watermark after the acks=all batch")
                .isEqualTo(committed.baseOffset() + BATCH);

        try (KafkaConsumer<String, String> consumer = Clients.consumer(cluster.bootstrap(LEADER))) {
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            List<ConsumerRecord<String, String>> before = pollUntil(consumer, (int) highWatermark);
            assertThat(before).as("records read before the followers stop")
                    .allSatisfy(r -> assertThat(r.offset()).isLessThan(highWatermark));

            // When both followers are stopped and the leader takes acks=1 batches
            long sizeBefore = cluster.node(LEADER).partitionLogSize(TOPIC, partitionIndex);
            followers.forEach(cluster::pause);
            List<String> hidden = new ArrayList<>();
            for (int batch = 0; batch < 3; batch++) {
                List<String> values = FollowerFailureIT.values("hidden-" + batch, BATCH);
                ProduceAnswer answer = KafkaRequests.produce(port, partition, (short) 1, values);
                assertThat(answer.error()).as("acks=1 produce %d: %s", batch, answer).isEqualTo(Errors.NONE);
                hidden.addAll(values);
            }
            // An acks=all batch is appended too, but the ISR never has it: its 5 s request timeout answers it
            // (the node's wait timer), REQUEST_TIMED_OUT, as Kafka's delayed produce does
            List<String> timedOut = FollowerFailureIT.values("timed-out", BATCH);
            long sentNs = System.nanoTime();
            ProduceAnswer waited = KafkaRequests.produce(port, partition, KafkaRequests.ACKS_ALL, timedOut);
            long waitedMs = (System.nanoTime() - sentNs) / 1_000_000;
            assertThat(waited.error()).as("acks=all produce with the followers stopped: %s", waited)
                    .isEqualTo(Errors.REQUEST_TIMED_OUT);
            assertThat(waitedMs).as("ms until the acks=all answer (request timeout 5,000 ms)")
                    .isBetween(4_900L, 20_000L);
            hidden.addAll(timedOut);

            // Then the leader stores them on disk...
            assertThat(cluster.node(LEADER).partitionLogSize(TOPIC, partitionIndex)).as("leader's log size on disk")
                    .isGreaterThan(sizeBefore);
            List<String> stored = StoredLog.records(cluster.partitionLogBytes(LEADER, TOPIC, partitionIndex))
                    .stream().map(StoredRecord::value).toList();
            assertThat(stored).as("records in the leader's log on disk").containsAll(hidden);

            // ...but for a while, with the followers in the ISR, the high watermark stays, the consumer gets
            // nothing, and a raw Fetch returns nothing at or above the high watermark
            List<ConsumerRecord<String, String>> leaked = new ArrayList<>();
            List<String> problems = new ArrayList<>();
            await("nothing above the high watermark " + highWatermark + " visible while the followers are stopped")
                    .during(INVISIBLE_FOR)
                    .atMost(INVISIBLE_FOR.multipliedBy(2))
                    .pollInSameThread() // KafkaConsumer belongs to one thread
                    .pollInterval(Duration.ofMillis(100))
                    .untilAsserted(() -> {
                        consumer.poll(Duration.ofMillis(100)).forEach(leaked::add);
                        check(port, partition, highWatermark, followers, problems);
                        assertThat(leaked).as("records the consumer read above the high watermark").isEmpty();
                        assertThat(problems).as("what the leader showed above the high watermark").isEmpty();
                    });
            assertThat(leaked).as("records the consumer read above the high watermark").isEmpty();

            // When the followers are resumed
            followers.forEach(cluster::resume);

            // Then the high watermark passes the acks=1 records (and the timed-out acks=all batch) and the consumer
            // reads them, in order
            await("high watermark past the acks=1 records")
                    .atMost(VISIBLE_DEADLINE)
                    .pollInterval(Duration.ofMillis(100))
                    .until(() -> KafkaRequests.latestOffset(port, partition) == highWatermark + hidden.size());
            List<ConsumerRecord<String, String>> after = pollUntil(consumer, hidden.size());
            assertThat(after.stream().map(ConsumerRecord::value).toList()).as("records read after the resume")
                    .isEqualTo(hidden);
            assertThat(after.get(0).offset()).as("offset of the first of them").isEqualTo(highWatermark);
            assertThat(cluster.awaitFullIsr(TOPIC, partitionIndex, VISIBLE_DEADLINE).leader())
                    .as("leader, unchanged").isEqualTo(LEADER);
        }
    }

    /** Records what a raw ListOffsets, Fetch and Metadata to the leader show that they should not. */
    private static void check(int port, TopicPartition partition, long highWatermark, List<Integer> followers,
            List<String> problems) {
        long latest = KafkaRequests.latestOffset(port, partition);
        if (latest != highWatermark) {
            problems.add("ListOffsets latest " + latest + ", high watermark was " + highWatermark);
        }
        FetchAnswer fromStart = KafkaRequests.fetch(port, partition, 0);
        FetchAnswer fromHighWatermark = KafkaRequests.fetch(port, partition, highWatermark);
        for (FetchAnswer answer : List.of(fromStart, fromHighWatermark)) {
            if (answer.error() != Errors.NONE || answer.highWatermark() != highWatermark) {
                problems.add("Fetch answered " + answer.error() + " with high watermark " + answer.highWatermark());
            }
            for (FetchedRecord record : answer.records()) {
                if (record.offset() >= highWatermark) {
                    problems.add("Fetch returned " + record + " at or above the high watermark " + highWatermark);
                }
            }
        }
        List<Integer> isr = cluster.partitionState(LEADER, partition.topic(), partition.partition()).isr();
        if (!isr.containsAll(followers)) {
            problems.add("the stopped followers left the ISR: " + isr + " (the test needs them in it)");
        }
    }

    private static List<ConsumerRecord<String, String>> pollUntil(KafkaConsumer<String, String> consumer,
            int count) {
        List<ConsumerRecord<String, String>> records = new ArrayList<>();
        await("reading " + count + " records")
                .atMost(Clients.CLIENT_DEADLINE)
                .pollInSameThread()
                .pollInterval(Duration.ZERO)
                .until(() -> {
                    consumer.poll(Duration.ofMillis(200)).forEach(records::add);
                    return records.size() >= count;
                });
        return records;
    }
}
