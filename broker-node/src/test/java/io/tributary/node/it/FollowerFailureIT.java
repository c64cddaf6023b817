package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import io.tributary.node.it.KafkaRequests.PartitionState;
import io.tributary.node.it.KafkaRequests.ProduceAnswer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.NotEnoughReplicasException;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 4, "Done when": a follower is killed: it leaves the ISR after the lag time and acks=all keeps working; a
 * second follower is killed: acks=all fails with NOT_ENOUGH_REPLICAS and the log does not grow, while acks=1 still
 * succeeds but is not committed (the high watermark stays while the ISR is below min.insync.replicas, issue 9);
 * both restart, catch up and rejoin the ISR, and the high watermark passes the acks=1 records.
 *
 * <p>Three nodes, of which only node 1 is a voter, and the partition under test is the one node 1 leads: killing
 * both followers then leaves the metadata quorum (and so the ISR changes it commits) working. The ISR lag time is
 * {@value #LAG_TIME_MS} ms; the harness' short broker session timeout applies.
 */
class FollowerFailureIT {
    private static final int NODES = 3;
    private static final int VOTERS = 1;
    private static final int PARTITIONS = 3;
    private static final long LAG_TIME_MS = 3_000;
    private static final String TOPIC = "follower-failure";
    /** Lag time, session timeout and a generous margin for a busy 2-core machine. */
    private static final Duration ISR_DEADLINE = Duration.ofSeconds(30);
    private static final Duration CATCH_UP_DEADLINE = Duration.ofSeconds(90);

    @RegisterExtension
    static final ClusterProcesses cluster = new ClusterProcesses(NODES, VOTERS,
            Map.of("replica.lag.time.max.ms", Long.toString(LAG_TIME_MS)));

    @Test
    void keepsAcksAllWorkingWithOneFollowerDeadRefusesItWithTwoAndTakesBothBackIntoTheIsr() throws Exception {
        // Given a partition with three in-sync replicas, led by node 1 (the only voter), with acked data
        Clients.createTopic(cluster.bootstrap(), TOPIC, PARTITIONS, NODES, Map.of("min.insync.replicas", "2"));
        int leader = 1;
        int partitionIndex = IntStream.range(0, PARTITIONS)
                .filter(p -> cluster.awaitFullIsr(TOPIC, p, ClusterProcesses.HEALTH_DEADLINE).leader() == leader)
                .findFirst()
                .orElseThrow(() -> new AssertionError("no partition of " + TOPIC + " led by node " + leader));
        TopicPartition partition = new TopicPartition(TOPIC, partitionIndex);
        PartitionState initial = cluster.awaitFullIsr(TOPIC, partitionIndex, ClusterProcesses.HEALTH_DEADLINE);
        List<Integer> followers = initial.replicas().stream().filter(id -> id != leader).toList();
        int leaderPort = cluster.port(leader);
        KafkaRequests.produceUntilAccepted(leaderPort, partition, KafkaRequests.ACKS_ALL, values("before", 10),
                ClusterProcesses.HEALTH_DEADLINE);

        // When one follower is SIGKILLed
        int first = followers.get(0);
        cluster.kill(first);

        // Then it leaves the ISR, and acks=all produce still succeeds and advances the high watermark
        cluster.awaitIsr(TOPIC, partitionIndex, Set.of(leader, followers.get(1)), ISR_DEADLINE);
        assertProduced(leaderPort, partition, KafkaRequests.ACKS_ALL, "one-follower-down");

        // When the second follower is SIGKILLed too
        int second = followers.get(1);
        cluster.kill(second);
        cluster.awaitIsr(TOPIC, partitionIndex, Set.of(leader), ISR_DEADLINE);

        // Then acks=all fails with NOT_ENOUGH_REPLICAS, through a raw request and through the Java client, and
        // neither the high watermark nor the log on disk grows
        long latestBefore = KafkaRequests.latestOffset(leaderPort, partition);
        long sizeBefore = cluster.node(leader).partitionLogSize(TOPIC, partitionIndex);
        ProduceAnswer refused = KafkaRequests.produce(leaderPort, partition, KafkaRequests.ACKS_ALL,
                values("refused", 10));
        assertThat(refused.error()).as("raw acks=all produce with the ISR at {%d}: %s", leader, refused)
                .isEqualTo(Errors.NOT_ENOUGH_REPLICAS);
        assertThat(javaClientAcksAllError(partition)).as("Java client acks=all send with retries=0")
                .isInstanceOf(NotEnoughReplicasException.class);
        assertThat(KafkaRequests.latestOffset(leaderPort, partition)).as("high watermark after refused produces")
                .isEqualTo(latestBefore);
        assertThat(cluster.node(leader).partitionLogSize(TOPIC, partitionIndex))
                .as("bytes of the leader's log on disk after refused produces").isEqualTo(sizeBefore);

        // And acks=1 is still appended, but with the ISR below min.insync.replicas the high watermark does not move
        // (KIP-966's strict min ISR: only the leader has these records, so they are not committed)
        ProduceAnswer alone = KafkaRequests.produce(leaderPort, partition, (short) 1, values("acks-1-alone", 10));
        assertThat(alone.error()).as("acks=1 produce with the ISR at {%d}: %s", leader, alone)
                .isEqualTo(Errors.NONE);
        assertThat(cluster.node(leader).partitionLogSize(TOPIC, partitionIndex)).as("log size after acks=1")
                .isGreaterThan(sizeBefore);
        assertThat(KafkaRequests.latestOffset(leaderPort, partition)).as("high watermark after acks=1 below min ISR")
                .isEqualTo(latestBefore);

        // When both followers are restarted
        cluster.restartDeadNodes();

        // Then they catch up to a log byte-identical to the leader's and the ISR is full again
        byte[] log = cluster.awaitIdenticalLogs(TOPIC, partitionIndex, new TreeSet<>(initial.replicas()),
                CATCH_UP_DEADLINE);
        PartitionState rejoined = cluster.awaitFullIsr(TOPIC, partitionIndex, CATCH_UP_DEADLINE);
        assertThat(rejoined.leader()).as("leader after the followers came back").isEqualTo(leader);
        await("high watermark past the acks=1 records once the ISR is back").atMost(CATCH_UP_DEADLINE)
                .pollInterval(Duration.ofMillis(100))
                .until(() -> KafkaRequests.latestOffset(leaderPort, partition) >= alone.baseOffset() + 10);
        List<String> stored = StoredLog.records(log).stream().map(StoredLog.StoredRecord::value).toList();
        assertThat(stored).as("records of the caught-up log")
                .containsAll(values("acks-1-alone", 10))
                .doesNotContainAnyElementsOf(values("refused", 10));

        // And acks=all works again
        assertProduced(leaderPort, partition, KafkaRequests.ACKS_ALL, "after-rejoin");
    }

    /**
     * Produces ten records to the leader with {@code acks}; asserts success and a high watermark past them: at once
     * for acks=all (it is answered only then), within a few seconds for acks=1.
     */
    private static void assertProduced(int leaderPort, TopicPartition partition, short acks, String prefix) {
        ProduceAnswer answer = KafkaRequests.produce(leaderPort, partition, acks, values(prefix, 10));
        assertThat(answer.error()).as("produce %s with acks=%d: %s", prefix, acks, answer).isEqualTo(Errors.NONE);
        String what = "high watermark after produce " + prefix + " with acks=" + acks + " at base offset "
                + answer.baseOffset();
        if (acks == KafkaRequests.ACKS_ALL) {
            assertThat(KafkaRequests.latestOffset(leaderPort, partition)).as(what)
                    .isGreaterThanOrEqualTo(answer.baseOffset() + 10);
        } else {
            await(what).atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100))
                    .until(() -> KafkaRequests.latestOffset(leaderPort, partition) >= answer.baseOffset() + 10);
        }
    }

    /** The error of one acks=all send with the Java client, not retried, or null if it was acknowledged. */
    private static Throwable javaClientAcksAllError(TopicPartition partition) throws Exception {
        try (KafkaProducer<String, String> producer = Clients.producer(cluster.bootstrap(), Map.of(
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false, // idempotence needs retries
                ProducerConfig.RETRIES_CONFIG, 0,
                ProducerConfig.ACKS_CONFIG, "all"))) {
            Throwable thrown = catchThrowable(() -> producer.send(
                    new ProducerRecord<>(partition.topic(), partition.partition(), null, "refused-java"))
                    .get(Clients.CLIENT_DEADLINE.toSeconds(), TimeUnit.SECONDS));
            return thrown instanceof ExecutionException ? thrown.getCause() : thrown;
        }
    }

    static List<String> values(String prefix, int count) {
        List<String> values = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            values.add(prefix + "-" + i);
        }
        return values;
    }
}
