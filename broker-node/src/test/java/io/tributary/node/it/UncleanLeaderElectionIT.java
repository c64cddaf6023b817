package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.node.it.KafkaRequests.PartitionState;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Unclean leader election on a 3-node cluster whose one metadata voter is node 1, so that nodes 2 and 3 may both be
 * down: a partition replicated on 2 and 3 loses its follower (the ISR shrinks to the leader), then its leader, and
 * goes offline; when the follower, now outside the ISR, returns, the partition stays offline unless unclean
 * elections are allowed. Kafka's {@code kafka-leader-election --election-type UNCLEAN} elects it; a topic with
 * {@code unclean.leader.election.enable=true} gets it as leader from the controller on its own. Either way the ISR
 * is reset to the new leader, and the old leader rejoins as a follower once it returns.
 */
class UncleanLeaderElectionIT {
    private static final Duration TOOL_DEADLINE = Duration.ofSeconds(90);
    private static final Duration DEADLINE = Duration.ofSeconds(60);

    @RegisterExtension
    static final ClusterProcesses cluster = new ClusterProcesses(3, 1,
            Map.of("auto.leader.rebalance.enable", "false"));

    @TempDir
    Path workDir;

    @BeforeEach
    void wholeCluster() {
        cluster.restartDeadNodes();
        cluster.awaitHealthy();
    }

    @Test
    void kafkaLeaderElectionUncleanElectsAReturnedReplicaOutsideTheIsr() {
        // Given: partition p on nodes 2 and 3 offline, and its follower back but outside the ISR
        String topic = "strict";
        Clients.createTopic(cluster.bootstrap(), topic, 3, 2);
        int p = partitionAwayFromTheVoter(topic);
        Lost lost = loseFollowerThenLeaderThenReturnFollower(topic, p);
        assertThat(cluster.partitionState(1, topic, p).leader()).as("offline without unclean elections").isNegative();

        // When
        ExternalCommand.Result elect = ExternalCommand.kafkaTool("org.apache.kafka.tools.LeaderElectionCommand",
                cluster.bootstrap(), TOOL_DEADLINE, workDir, "--election-type", "UNCLEAN", "--topic", topic,
                "--partition", Integer.toString(p));

        // Then the returned follower leads, alone in the ISR, and the old leader rejoins once back
        assertThat(elect.exitCode()).as(elect.toString()).isZero();
        assertThat(elect.stdout()).as(elect.toString())
                .contains("Successfully completed leader election (UNCLEAN) for partitions " + topic + "-" + p);
        cluster.awaitIsr(topic, p, Set.of(lost.follower()), DEADLINE);
        cluster.restart(lost.leader());
        PartitionState healed = cluster.awaitFullIsr(topic, p, DEADLINE);
        assertThat(healed.leader()).isEqualTo(lost.follower());
    }

    @Test
    void aTopicAllowingUncleanElectionsGetsItsReturnedReplicaAsLeaderFromTheController() {
        // Given: a topic with unclean.leader.election.enable=true
        String topic = "lenient";
        Clients.createTopic(cluster.bootstrap(), topic, 3, 2, Map.of("unclean.leader.election.enable", "true"));
        int p = partitionAwayFromTheVoter(topic);

        // When its partition on nodes 2 and 3 loses the follower, then the leader, and the follower returns
        Lost lost = loseFollowerThenLeaderThenReturnFollower(topic, p);

        // Then the controller elected the returned follower, with the ISR reset to it
        cluster.awaitIsr(topic, p, Set.of(lost.follower()), DEADLINE);
        cluster.restart(lost.leader());
        cluster.awaitFullIsr(topic, p, DEADLINE);
    }

    private record Lost(int leader, int follower) {
    }

    /** A partition whose replicas are nodes 2 and 3 (RF 2 over 3 nodes places one such). */
    private static int partitionAwayFromTheVoter(String topic) {
        Map<Integer, PartitionState> partitions = cluster.awaitAgreedMetadata(topic).topic(topic).partitions();
        return partitions.entrySet().stream().filter(e -> !e.getValue().replicas().contains(1))
                .map(Map.Entry::getKey).findFirst().orElseThrow();
    }

    private static Lost loseFollowerThenLeaderThenReturnFollower(String topic, int p) {
        PartitionState state = cluster.awaitFullIsr(topic, p, DEADLINE);
        int leader = state.leader();
        int follower = state.replicas().stream().filter(id -> id != leader).findFirst().orElseThrow();
        cluster.kill(follower);
        cluster.awaitIsr(topic, p, Set.of(leader), DEADLINE);
        cluster.kill(leader);
        cluster.awaitPartition(topic, p, "offline, its last ISR member " + leader,
                s -> s.leader() < 0 && s.isr().equals(List.of(leader)), DEADLINE);
        cluster.restart(follower);
        cluster.awaitHealthy();
        return new Lost(leader, follower);
    }
}
