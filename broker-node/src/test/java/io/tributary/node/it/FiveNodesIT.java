package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.node.it.KafkaRequests.ClusterView;
import io.tributary.node.it.KafkaRequests.PartitionState;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 3, "Done when": five nodes with three voters work: the two non-voters serve as brokers and hold partition
 * leaders.
 *
 * <p>One cluster of five nodes, voters 1-3, for every test; no test kills a node.
 */
class FiveNodesIT {
    private static final int NODES = 5;
    private static final int VOTERS = 3;
    private static final int PARTITIONS = 10;
    private static final Set<Integer> NON_VOTERS = Set.of(4, 5);

    @RegisterExtension
    static final ClusterProcesses cluster = new ClusterProcesses(NODES, VOTERS);

    @Test
    void everyNodeListsAllFiveBrokersAndAVoterAsController() {
        // Given five nodes of which 1-3 are voters (the harness waited for them to agree)

        // When each is asked through DescribeCluster
        Map<Integer, ClusterView> described = cluster.describeClusterFromEvery();

        // Then all five, non-voters included, name the same voter as controller and list five live brokers
        int controller = described.get(1).controllerId();
        assertThat(controller).as("active controller").isIn(cluster.voterIds());
        assertThat(described).as("DescribeCluster by node").hasSize(NODES).allSatisfy((id, view) -> {
            assertThat(view.controllerId()).as("controller named by node %d", id).isEqualTo(controller);
            assertThat(view.liveBrokers()).as("live brokers listed by node %d", id).isEqualTo(cluster.ids());
            assertThat(view.fencedBrokers()).as("fenced brokers listed by node %d", id).isEmpty();
        });
    }

    @Test
    void spreadsLeadersAndReplicasOverAllFiveNodesNonVotersIncluded() {
        // Given
        String topic = "ten-partitions-three-replicas";

        // When a 10-partition topic with three replicas is created through a non-voter
        Clients.createTopic(cluster.bootstrap(4), topic, PARTITIONS, 3);

        // Then every node (non-voters too) describes it alike, each node leads two partitions and holds six replicas
        Map<Integer, PartitionState> partitions = cluster.awaitAgreedMetadata(topic).topic(topic).partitions();
        assertThat(ClusterBasicsIT.leadersByNode(partitions)).as("partitions led by each node")
                .isEqualTo(Map.of(1, 2L, 2, 2L, 3, 2L, 4, 2L, 5, 2L));
        Map<Integer, Long> replicasByNode = partitions.values().stream()
                .flatMap(partition -> partition.replicas().stream())
                .collect(Collectors.groupingBy(node -> node, TreeMap::new, Collectors.counting()));
        assertThat(replicasByNode).as("replicas held by each node").isEqualTo(Map.of(1, 6L, 2, 6L, 3, 6L, 4, 6L, 5, 6L));
        assertThat(partitions).allSatisfy((index, partition) -> {
            assertThat(new HashSet<>(partition.replicas())).as("distinct replicas of partition %d", index).hasSize(3);
            assertThat(new HashSet<>(partition.isr())).as("ISR of partition %d", index)
                    .isEqualTo(new HashSet<>(partition.replicas()));
        });
    }

    @Test
    void nonVotersLeadPartitionsAndServeProduceAndConsume() throws Exception {
        // Given a 10-partition topic, some of whose partitions the non-voters lead
        String topic = "through-non-voters";
        Clients.createTopic(cluster.bootstrap(5), topic, PARTITIONS, 1);
        Map<Integer, PartitionState> partitions = cluster.awaitAgreedMetadata(topic).topic(topic).partitions();
        assertThat(ClusterBasicsIT.leadersByNode(partitions).keySet()).as("nodes leading a partition")
                .containsAll(NON_VOTERS);

        // When producers bootstrapped from node 4 and from node 5 write to every partition
        Set<String> sent = new HashSet<>();
        for (int via : NON_VOTERS) {
            try (KafkaProducer<String, String> producer = Clients.producer(cluster.bootstrap(via), Map.of())) {
                List<Future<RecordMetadata>> acks = new ArrayList<>();
                for (int partition = 0; partition < PARTITIONS; partition++) {
                    String value = "via-" + via + "-to-" + partition;
                    acks.add(producer.send(new ProducerRecord<>(topic, partition, "k", value)));
                    sent.add(partition + ":" + value);
                }
                for (Future<RecordMetadata> ack : acks) {
                    ack.get(Clients.CLIENT_DEADLINE.toSeconds(), TimeUnit.SECONDS);
                }
            }
        }

        // Then consumers bootstrapped from node 4 and from node 5 read all of them
        for (int via : NON_VOTERS) {
            List<ConsumerRecord<String, String>> read =
                    Clients.readFromBeginning(cluster.bootstrap(via), topic, PARTITIONS, sent.size());
            assertThat(read.stream().map(r -> r.partition() + ":" + r.value()).collect(Collectors.toSet()))
                    .as("records read through node %d", via)
                    .isEqualTo(sent);
            assertThat(read).as("records read through node %d, no duplicates", via).hasSize(sent.size());
        }
    }
}
