package io.tributary.node.it;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code auto.leader.rebalance.enable} (the default) with {@code leader.imbalance.check.interval.seconds=1} on a
 * 3-node cluster: a killed node's partitions move to other replicas; once it returns and rejoins their ISR, the
 * active controller moves each back to its preferred replica on its own, with no tool and no client request.
 */
class AutoLeaderRebalanceIT {
    private static final Duration DEADLINE = Duration.ofSeconds(60);

    @RegisterExtension
    static final ClusterProcesses cluster = new ClusterProcesses(3, 3,
            Map.of("leader.imbalance.check.interval.seconds", "1"));

    @Test
    void theControllerRestoresPreferredLeadersAfterANodeReturns() {
        // Given: a topic of 6 partitions over 3 nodes, each led by its preferred (first) replica
        String topic = "rebalanced";
        LeadershipMoves.Victim victim = LeadershipMoves.createTopicAndPickVictim(cluster, topic, 6);

        // When a node is killed, its partitions get other leaders; then it returns
        LeadershipMoves.killAndRestart(cluster, topic, victim, DEADLINE);

        // Then every partition is soon led by its preferred replica again, with its full ISR
        for (int p = 0; p < 6; p++) {
            cluster.awaitPartition(topic, p, "led by its preferred replica with every replica in the ISR",
                    state -> state.leader() == state.replicas().get(0) && state.isr().size() == 3, DEADLINE);
        }
    }
}
