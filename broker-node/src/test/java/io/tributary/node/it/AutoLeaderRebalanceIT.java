package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.node.it.KafkaRequests.MetadataView;
import java.time.Duration;
import java.util.List;
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
        Clients.createTopic(cluster.bootstrap(), topic, 6, 3);
        MetadataView created = cluster.awaitAgreedMetadata(topic);
        int controller = cluster.controllerId();
        int victim = created.topic(topic).partitions().values().stream().map(p -> p.replicas().get(0))
                .filter(id -> id != controller).findFirst().orElseThrow();
        List<Integer> victimPartitions = created.topic(topic).partitions().entrySet().stream()
                .filter(e -> e.getValue().replicas().get(0) == victim).map(Map.Entry::getKey).toList();
        assertThat(victimPartitions).isNotEmpty();

        // When the node is killed, its partitions get other leaders; then it returns
        cluster.kill(victim);
        for (int p : victimPartitions) {
            cluster.awaitPartition(topic, p, "led by a node other than " + victim,
                    state -> state.leader() >= 0 && state.leader() != victim, DEADLINE);
        }
        cluster.restart(victim);
        cluster.awaitHealthy();

        // Then every partition is soon led by its preferred replica again, with its full ISR
        for (int p = 0; p < 6; p++) {
            cluster.awaitPartition(topic, p, "led by its preferred replica with every replica in the ISR",
                    state -> state.leader() == state.replicas().get(0) && state.isr().size() == 3, DEADLINE);
        }
    }
}
