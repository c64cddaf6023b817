package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tributary.node.it.KafkaRequests.PartitionState;
import io.tributary.node.it.KafkaRequests.ProduceAnswer;
import io.tributary.node.it.StoredLog.StoredRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.IntStream;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 4, "Done when": a replica that was leader with an unreplicated tail comes back and is truncated to the new
 * leader's log (KIP-101/KIP-320).
 *
 * <p>How the tail is made: both followers are SIGSTOPped (they stay in the ISR: neither the session timeout nor the
 * lag time passes while they are stopped), the leader takes a few acks=1 batches that nobody fetches, is SIGKILLed,
 * and the followers are SIGCONTed at once. The controller fences the old leader and elects a follower, which takes
 * acks=all writes at the same offsets. The old leader restarts with the divergent tail on disk.
 *
 * <p>Four nodes, only node 1 a voter; the partition under test has no replica on node 1, so stopping and killing
 * its replicas never touches the metadata quorum. The broker session timeout is raised to
 * {@value #SESSION_TIMEOUT_MS} ms so that stopped followers are surely not fenced meanwhile.
 */
class DivergentTailIT {
    private static final int NODES = 4;
    private static final int VOTERS = 1;
    private static final int REPLICATION_FACTOR = 3;
    private static final String TOPIC = "divergent";
    private static final long SESSION_TIMEOUT_MS = 6_000;
    private static final int TAIL_BATCHES = 5;
    private static final int RECORDS_PER_BATCH = 10;
    /**
     * How long the stopped followers must be seen to stay in the ISR before the tail is written: longer than
     * {@code replica.fetch.wait.max.ms} (500 ms), so that no fetch they sent before they stopped is still parked at
     * the leader, to be answered with the tail into their socket buffers.
     */
    private static final Duration QUIET_BEFORE_TAIL = Duration.ofMillis(1_200);
    private static final Duration ELECTION_DEADLINE = Duration.ofSeconds(45);
    private static final Duration CATCH_UP_DEADLINE = Duration.ofSeconds(90);

    @RegisterExtension
    static final ClusterProcesses cluster = new ClusterProcesses(NODES, VOTERS, Map.of(
            "broker.session.timeout.ms", Long.toString(SESSION_TIMEOUT_MS),
            "broker.heartbeat.interval.ms", "500"));

    @Test
    void truncatesTheUnreplicatedTailOfAFormerLeaderToTheNewLeadersLog() {
        // Given a partition with three in-sync replicas, none on the controller, sharing an acks=all prefix
        Clients.createTopic(cluster.bootstrap(), TOPIC, NODES, REPLICATION_FACTOR,
                Map.of("min.insync.replicas", "2"));
        int partitionIndex = IntStream.range(0, NODES)
                .filter(p -> !cluster.awaitFullIsr(TOPIC, p, ClusterProcesses.HEALTH_DEADLINE).replicas()
                        .stream().anyMatch(cluster.voterIds()::contains))
                .findFirst()
                .orElseThrow(() -> new AssertionError("every partition of " + TOPIC + " has a replica on a voter"));
        TopicPartition partition = new TopicPartition(TOPIC, partitionIndex);
        PartitionState initial = cluster.awaitFullIsr(TOPIC, partitionIndex, ClusterProcesses.HEALTH_DEADLINE);
        int oldLeader = initial.leader();
        List<Integer> followers = initial.replicas().stream().filter(id -> id != oldLeader).toList();
        Set<Integer> replicas = new TreeSet<>(initial.replicas());
        for (int batch = 0; batch < 3; batch++) {
            KafkaRequests.produceUntilAccepted(cluster.port(oldLeader), partition, KafkaRequests.ACKS_ALL,
                    FollowerFailureIT.values("prefix-" + batch, RECORDS_PER_BATCH), ClusterProcesses.HEALTH_DEADLINE);
        }
        byte[] prefix = cluster.awaitIdenticalLogs(TOPIC, partitionIndex, replicas, CATCH_UP_DEADLINE);
        long prefixEnd = StoredLog.endOffset(prefix);

        // When both followers are stopped (and stay in the ISR), the leader takes acks=1 batches no follower gets,
        // and is SIGKILLed; the followers are resumed at once
        followers.forEach(cluster::pause);
        await("stopped followers " + followers + " still in the ISR, seen by the responding nodes")
                .during(QUIET_BEFORE_TAIL)
                .atMost(QUIET_BEFORE_TAIL.multipliedBy(3))
                .pollInterval(Duration.ofMillis(200))
                .until(() -> cluster.partitionState(oldLeader, TOPIC, partitionIndex).isr().containsAll(followers));
        List<String> tail = new ArrayList<>();
        for (int batch = 0; batch < TAIL_BATCHES; batch++) {
            List<String> values = FollowerFailureIT.values("tail-" + batch, RECORDS_PER_BATCH);
            ProduceAnswer answer = KafkaRequests.produce(cluster.port(oldLeader), partition, (short) 1, values);
            assertThat(answer.error()).as("acks=1 tail batch %d: %s", batch, answer).isEqualTo(Errors.NONE);
            tail.addAll(values);
        }
        cluster.kill(oldLeader);
        followers.forEach(cluster::resume);
        byte[] oldLeaderLog = cluster.partitionLogBytes(oldLeader, TOPIC, partitionIndex);

        // Then the old leader's log really holds the tail beyond the shared prefix
        List<StoredRecord> oldRecords = StoredLog.records(oldLeaderLog);
        assertThat(oldRecords.stream().filter(r -> r.offset() >= prefixEnd).map(StoredRecord::value).toList())
                .as("records past offset %d on the killed leader", prefixEnd).isEqualTo(tail);

        // When a follower is elected, with a higher epoch, and takes acks=all writes at the tail's offsets
        PartitionState elected = cluster.awaitPartition(TOPIC, partitionIndex,
                "a leader among " + followers + " with an epoch above " + initial.leaderEpoch(),
                state -> followers.contains(state.leader()) && state.leaderEpoch() > initial.leaderEpoch()
                        && !state.isr().contains(oldLeader),
                ELECTION_DEADLINE);
        int newLeader = elected.leader();
        List<String> after = new ArrayList<>();
        for (int batch = 0; batch < TAIL_BATCHES + 1; batch++) {
            List<String> values = FollowerFailureIT.values("after-" + batch, RECORDS_PER_BATCH);
            KafkaRequests.produceUntilAccepted(cluster.port(newLeader), partition, KafkaRequests.ACKS_ALL, values,
                    ELECTION_DEADLINE);
            after.addAll(values);
        }
        byte[] newLeaderLog = cluster.partitionLogBytes(newLeader, TOPIC, partitionIndex);

        // Then the two logs share the prefix and diverge right after it: the divergence is real
        List<StoredRecord> newRecords = StoredLog.records(newLeaderLog);
        assertThat(newRecords.stream().filter(r -> r.offset() >= prefixEnd).map(StoredRecord::value).toList())
                .as("records past offset %d on the new leader %d", prefixEnd, newLeader).isEqualTo(after);
        assertThat(Arrays.equals(oldLeaderLog, 0, prefix.length, newLeaderLog, 0, prefix.length))
                .as("the first %d bytes (the acks=all prefix) alike on old and new leader", prefix.length).isTrue();
        assertThat(Arrays.mismatch(oldLeaderLog, newLeaderLog))
                .as("first differing byte of the old (%d bytes) and new (%d bytes) leader's logs, past the %d-byte"
                        + " prefix and inside both", oldLeaderLog.length, newLeaderLog.length, prefix.length)
                .isGreaterThanOrEqualTo(prefix.length)
                .isLessThan(Math.min(oldLeaderLog.length, newLeaderLog.length));

        // When the old leader restarts on its data
        cluster.restart(oldLeader);

        // Then it truncates its tail and ends byte-identical to the new leader, back in the ISR
        byte[] converged = cluster.awaitIdenticalLogs(TOPIC, partitionIndex, replicas, CATCH_UP_DEADLINE);
        cluster.awaitFullIsr(TOPIC, partitionIndex, CATCH_UP_DEADLINE);
        List<String> convergedValues = StoredLog.records(converged).stream().map(StoredRecord::value).toList();
        assertThat(convergedValues).as("records of every replica after the old leader came back")
                .containsSequence(after)
                .doesNotContainAnyElementsOf(tail);
        assertThat(StoredLog.records(cluster.partitionLogBytes(oldLeader, TOPIC, partitionIndex)).stream()
                .filter(r -> r.offset() >= prefixEnd && r.offset() < prefixEnd + tail.size())
                .map(StoredRecord::value).toList())
                .as("what the old leader stores at the offsets of its former tail")
                .isEqualTo(after.subList(0, tail.size()));
    }
}
