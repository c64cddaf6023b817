package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.node.it.KafkaRequests.MetadataView;
import io.tributary.node.it.KafkaRequests.PartitionState;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kafka-leader-election --election-type PREFERRED --all-topic-partitions} (Kafka's own LeaderElectionCommand,
 * run as a separate JVM from the jars the build copies to {@code target/kafka-tools}) on a 3-node cluster with
 * {@code auto.leader.rebalance.enable=false}: after a node is killed, its partitions move to other replicas and stay
 * there when it returns and rejoins the ISR; the tool moves every partition back to its preferred replica, and a
 * second run finds nothing to elect.
 */
class LeaderElectionIT {
    private static final Duration TOOL_DEADLINE = Duration.ofSeconds(90);
    private static final Duration DEADLINE = Duration.ofSeconds(60);

    @RegisterExtension
    static final ClusterProcesses cluster = new ClusterProcesses(3, 3,
            Map.of("auto.leader.rebalance.enable", "false"));

    @TempDir
    Path workDir;

    @BeforeEach
    void wholeCluster() {
        cluster.restartDeadNodes();
        cluster.awaitHealthy();
    }

    @Test
    void kafkaLeaderElectionPreferredRestoresEveryPreferredLeaderAfterANodeReturns() {
        // Given: a topic of 6 partitions over 3 nodes, each led by its preferred (first) replica
        String topic = "preferred";
        Clients.createTopic(cluster.bootstrap(), topic, 6, 3);
        MetadataView created = cluster.awaitAgreedMetadata(topic);
        created.topic(topic).partitions().values()
                .forEach(p -> assertThat(p.leader()).as("%s", p).isEqualTo(p.replicas().get(0)));
        int victim = victim(created, topic);
        Set<Integer> victimPartitions = preferredOf(created, topic, victim);
        assertThat(victimPartitions).isNotEmpty();

        // When the node is killed, its partitions get other leaders; it returns and catches up
        cluster.kill(victim);
        for (int p : victimPartitions) {
            cluster.awaitPartition(topic, p, "led by a node other than " + victim,
                    state -> state.leader() >= 0 && state.leader() != victim, DEADLINE);
        }
        cluster.restart(victim);
        cluster.awaitHealthy();
        for (int p = 0; p < 6; p++) {
            cluster.awaitFullIsr(topic, p, DEADLINE);
        }
        // (without the automatic rebalance, leadership stays where the fail-over put it)
        for (int p : victimPartitions) {
            assertThat(cluster.partitionState(victim, topic, p).leader()).isNotEqualTo(victim);
        }
        ExternalCommand.Result elect = leaderElection("--election-type", "PREFERRED", "--all-topic-partitions");

        // Then the tool reports the moved partitions elected, and every node soon says each partition is led by
        // its preferred replica again (the answering node said so before the tool returned)
        assertThat(elect.exitCode()).as(elect.toString()).isZero();
        assertThat(elect.stdout()).as(elect.toString())
                .contains("Successfully completed leader election (PREFERRED) for partitions");
        for (int p : victimPartitions) {
            assertThat(elect.stdout()).as(elect.toString()).contains(topic + "-" + p);
        }
        for (int p = 0; p < 6; p++) {
            cluster.awaitPartition(topic, p, "led by its preferred replica",
                    state -> state.leader() == state.replicas().get(0), DEADLINE);
        }

        // And naming a partition that already has its preferred leader elects nothing
        ExternalCommand.Result again = leaderElection("--election-type", "PREFERRED", "--topic", topic,
                "--partition", "0");
        assertThat(again.exitCode()).as(again.toString()).isZero();
        assertThat(again.stdout()).as(again.toString()).contains("Valid replica already elected for partitions "
                + topic + "-0");
    }

    /** A node that is not the active controller (killing it moves leaders, not the controller). */
    private static int victim(MetadataView view, String topic) {
        int controller = cluster.controllerId();
        return view.topic(topic).partitions().values().stream().map(p -> p.replicas().get(0))
                .filter(id -> id != controller).findFirst().orElseThrow();
    }

    private static Set<Integer> preferredOf(MetadataView view, String topic, int broker) {
        Set<Integer> partitions = new TreeSet<>();
        for (Map.Entry<Integer, PartitionState> e : view.topic(topic).partitions().entrySet()) {
            if (e.getValue().replicas().get(0) == broker) {
                partitions.add(e.getKey());
            }
        }
        return partitions;
    }

    /** Kafka's kafka-leader-election.sh against the cluster. */
    private ExternalCommand.Result leaderElection(String... args) {
        return ExternalCommand.kafkaTool("org.apache.kafka.tools.LeaderElectionCommand", cluster.bootstrap(),
                TOOL_DEADLINE, workDir, args);
    }
}
