package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.node.it.KafkaRequests.MetadataView;
import io.tributary.node.it.KafkaRequests.PartitionState;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * For the leader election ITs: a topic whose partitions start led by their preferred (first) replicas, a node that
 * is the preferred replica of some of them (not the active controller, so that killing it moves leaders, not the
 * controller), and that node's loss and return. Test threads only.
 */
final class LeadershipMoves {
    private LeadershipMoves() {}

    /** A node and the partitions it is the preferred replica of. */
    record Victim(int node, Set<Integer> partitions) {
    }

    /** Creates {@code topic} with 3 replicas per partition, checks every partition is led by its first replica. */
    static Victim createTopicAndPickVictim(ClusterProcesses cluster, String topic, int partitions) {
        Clients.createTopic(cluster.bootstrap(), topic, partitions, 3);
        MetadataView created = cluster.awaitAgreedMetadata(topic);
        created.topic(topic).partitions().values()
                .forEach(p -> assertThat(p.leader()).as("%s", p).isEqualTo(p.replicas().get(0)));
        int controller = cluster.controllerId();
        int node = created.topic(topic).partitions().values().stream().map(p -> p.replicas().get(0))
                .filter(id -> id != controller).findFirst().orElseThrow();
        Set<Integer> preferred = new TreeSet<>();
        for (Map.Entry<Integer, PartitionState> e : created.topic(topic).partitions().entrySet()) {
            if (e.getValue().replicas().get(0) == node) {
                preferred.add(e.getKey());
            }
        }
        assertThat(preferred).isNotEmpty();
        return new Victim(node, preferred);
    }

    /** Kills the victim, waits until each of its partitions is led by another node, then restarts it. */
    static void killAndRestart(ClusterProcesses cluster, String topic, Victim victim, Duration deadline) {
        cluster.kill(victim.node());
        for (int p : victim.partitions()) {
            cluster.awaitPartition(topic, p, "led by a node other than " + victim.node(),
                    state -> state.leader() >= 0 && state.leader() != victim.node(), deadline);
        }
        cluster.restart(victim.node());
        cluster.awaitHealthy();
    }
}
