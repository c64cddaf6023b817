package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tributary.node.it.KafkaRequests.ClusterView;
import io.tributary.node.it.KafkaRequests.MetadataView;
import io.tributary.node.it.KafkaRequests.PartitionState;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidReplicationFactorException;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 3, "Done when": a broker is killed: after the session timeout it is fenced and the partitions it led get new
 * leaders (from their ISR) with higher epochs; restarted, it registers again and is unfenced.
 *
 * <p>Three voters with a {@code broker.session.timeout.ms} of {@link ClusterProcesses#SESSION_TIMEOUT}. The killed
 * node is never the active controller, so this is broker fencing, not a controller fail-over. Each test starts with
 * all three nodes running.
 */
class BrokerFencingIT {
    private static final int NODES = 3;
    private static final int PARTITIONS = 6;
    /** Session timeout plus generous room for a busy 2-core machine. */
    private static final Duration FENCE_DEADLINE = Duration.ofSeconds(15);

    @RegisterExtension
    static final ClusterProcesses cluster = new ClusterProcesses(NODES, NODES);

    @BeforeEach
    void allNodesRunning() {
        cluster.restartDeadNodes();
        cluster.awaitHealthy();
    }

    @Test
    void fencesAKilledBrokerAndReelectsThePartitionsItLedFromTheirIsrWithHigherEpochs() throws Exception {
        // Given a topic with three replicas per partition, described alike by every node
        String topic = "fenced";
        Clients.createTopic(cluster.bootstrap(), topic, PARTITIONS, NODES);
        Map<Integer, PartitionState> before = cluster.awaitAgreedMetadata(topic).topic(topic).partitions();
        int victim = busiestLeaderOtherThan(cluster.controllerId(), before);
        List<Integer> ledByVictim = before.entrySet().stream()
                .filter(e -> e.getValue().leader() == victim).map(Map.Entry::getKey).toList();
        assertThat(ledByVictim).as("partitions led by node %d", victim).isNotEmpty();

        // When that broker is SIGKILLed
        long killedAt = System.nanoTime();
        cluster.kill(victim);
        Set<Integer> survivors = cluster.liveIds();

        // Then within the session timeout plus a margin, every survivor reports it fenced, out of every ISR, and the
        // partitions it led under a new leader from their ISR with a higher leader epoch
        await("node " + victim + " fenced and its partitions " + ledByVictim + " re-elected, as every survivor says")
                .atMost(FENCE_DEADLINE)
                .pollInterval(Duration.ofMillis(100))
                .ignoreExceptionsInstanceOf(UncheckedIOException.class)
                .untilAsserted(() -> {
                    for (int id : survivors) {
                        ClusterView described = KafkaRequests.describeCluster(cluster.port(id));
                        assertThat(described.fencedBrokers()).as("fenced brokers per node %d", id).contains(victim);
                        assertThat(described.liveBrokers()).as("live brokers per node %d", id).isEqualTo(survivors);
                        MetadataView metadata = KafkaRequests.metadata(cluster.port(id), topic);
                        assertThat(metadata.brokers()).as("brokers in node %d's Metadata", id).isEqualTo(survivors);
                        assertReelected(id, victim, before, metadata.topic(topic).partitions());
                    }
                });
        System.out.printf("BrokerFencingIT: node %d fenced and its partitions re-elected %d ms after SIGKILL%n",
                victim, Duration.ofNanos(System.nanoTime() - killedAt).toMillis());
        assertThat(cluster.awaitAgreedMetadata(topic).topic(topic).partitions().keySet())
                .as("partitions, alike on every survivor").hasSize(PARTITIONS);

        // And a topic needing three replicas is refused now that only two brokers are live
        assertThat(Clients.createTopicError(cluster.bootstrap(), "three-replicas-on-two", 1, NODES))
                .isInstanceOf(InvalidReplicationFactorException.class);

        // And a producer writes to every partition again (acks=1: partition data lives on the leader only until
        // replication arrives, so records written before the kill may be gone)
        try (KafkaProducer<String, String> producer = Clients.producer(cluster.bootstrap(), Map.of(
                ProducerConfig.ACKS_CONFIG, "1", ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false))) {
            List<Future<RecordMetadata>> acks = new ArrayList<>();
            for (int partition = 0; partition < PARTITIONS; partition++) {
                acks.add(producer.send(new ProducerRecord<>(topic, partition, "k", "after-fencing-" + partition)));
            }
            for (Future<RecordMetadata> ack : acks) {
                ack.get(Clients.CLIENT_DEADLINE.toSeconds(), TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void registersAgainAndIsUnfencedWhenTheKilledBrokerRestarts() {
        // Given a broker that was SIGKILLed and fenced
        int victim = cluster.ids().stream().filter(id -> id != cluster.controllerId()).findFirst().orElseThrow();
        cluster.kill(victim);
        Set<Integer> survivors = cluster.liveIds();
        await("node " + victim + " fenced, as every survivor says")
                .atMost(FENCE_DEADLINE)
                .pollInterval(Duration.ofMillis(100))
                .ignoreExceptionsInstanceOf(UncheckedIOException.class)
                .untilAsserted(() -> assertThat(cluster.describeClusterFromEvery()).allSatisfy((id, view) -> {
                    assertThat(view.fencedBrokers()).as("fenced brokers per node %d", id).contains(victim);
                    assertThat(view.liveBrokers()).as("live brokers per node %d", id).isEqualTo(survivors);
                }));

        // When it is restarted on its data
        cluster.restart(victim);

        // Then it registers again and every node lists it as a live, unfenced broker
        ClusterView view = cluster.awaitHealthy();
        assertThat(view.liveBrokers()).contains(victim);
        assertThat(view.fencedBrokers()).isEmpty();

        // And it takes part again: a new topic gets a partition on it, which it leads and serves
        String topic = "after-unfence";
        Clients.createTopic(cluster.bootstrap(), topic, NODES, 1);
        Map<Integer, PartitionState> partitions = cluster.awaitAgreedMetadata(topic).topic(topic).partitions();
        int onVictim = partitions.entrySet().stream().filter(e -> e.getValue().leader() == victim)
                .map(Map.Entry::getKey).findFirst()
                .orElseThrow(() -> new AssertionError("no partition of " + topic + " led by node " + victim
                        + ": " + partitions));
        // (metadata can name it leader a moment before its replica manager has opened the log: meanwhile it answers
        // NOT_LEADER_OR_FOLLOWER, which clients retry, never UNKNOWN_TOPIC_OR_PARTITION)
        await("Produce to partition " + onVictim + " on its leader " + victim)
                .atMost(Clients.CLIENT_DEADLINE)
                .pollInterval(Duration.ofMillis(50))
                .until(() -> {
                    Errors error = KafkaRequests.produceOne(cluster.port(victim), new TopicPartition(topic, onVictim),
                            "back");
                    if (error != Errors.NONE && error != Errors.NOT_LEADER_OR_FOLLOWER) {
                        throw new AssertionError("Produce to partition " + onVictim + " on its leader " + victim
                                + " failed with " + error);
                    }
                    return error == Errors.NONE;
                });
    }

    /** The node other than {@code controller} that leads the most partitions. */
    private static int busiestLeaderOtherThan(int controller, Map<Integer, PartitionState> partitions) {
        return ClusterBasicsIT.leadersByNode(partitions).entrySet().stream()
                .filter(e -> e.getKey() != controller)
                .max(Map.Entry.<Integer, Long>comparingByValue().thenComparing(Map.Entry.comparingByKey(
                        Comparator.reverseOrder())))
                .map(Map.Entry::getKey)
                .orElseThrow(() -> new AssertionError("only the controller leads partitions: " + partitions));
    }

    /** Node {@code id}'s view after {@code victim} was fenced, compared with {@code before}. */
    private static void assertReelected(int id, int victim, Map<Integer, PartitionState> before,
            Map<Integer, PartitionState> after) {
        assertThat(after.keySet()).as("partitions per node %d", id).isEqualTo(before.keySet());
        before.forEach((index, old) -> {
            PartitionState now = after.get(index);
            String what = "partition " + index + " per node " + id + ": before " + old + ", now " + now;
            assertThat(now.isr()).as("ISR of %s", what).doesNotContain(victim).isNotEmpty();
            assertThat(now.replicas()).as("replicas of %s", what).isEqualTo(old.replicas());
            if (old.leader() == victim) {
                assertThat(now.leader()).as("new leader of %s, from its old ISR", what)
                        .isNotEqualTo(victim).isIn(old.isr());
                assertThat(now.leaderEpoch()).as("leader epoch of %s", what).isGreaterThan(old.leaderEpoch());
            } else {
                assertThat(now.leader()).as("leader of %s, unchanged", what).isEqualTo(old.leader());
                assertThat(now.leaderEpoch()).as("leader epoch of %s, unchanged", what).isEqualTo(old.leaderEpoch());
            }
        });
    }
}
