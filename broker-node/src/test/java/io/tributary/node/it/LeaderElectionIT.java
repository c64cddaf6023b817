package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
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
        LeadershipMoves.Victim victim = LeadershipMoves.createTopicAndPickVictim(cluster, topic, 6);
        Set<Integer> victimPartitions = victim.partitions();

        // When the node is killed, its partitions get other leaders; it returns and catches up
        LeadershipMoves.killAndRestart(cluster, topic, victim, DEADLINE);
        for (int p = 0; p < 6; p++) {
            cluster.awaitFullIsr(topic, p, DEADLINE);
        }
        // (without the automatic rebalance, leadership stays where the fail-over put it)
        for (int p : victimPartitions) {
            assertThat(cluster.partitionState(victim.node(), topic, p).leader()).isNotEqualTo(victim.node());
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

    /** Kafka's kafka-leader-election.sh against the cluster. */
    private ExternalCommand.Result leaderElection(String... args) {
        return ExternalCommand.kafkaTool("org.apache.kafka.tools.LeaderElectionCommand", cluster.bootstrap(),
                TOOL_DEADLINE, workDir, args);
    }
}
