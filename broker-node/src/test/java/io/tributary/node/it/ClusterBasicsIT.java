package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tributary.node.it.KafkaRequests.ClusterView;
import io.tributary.node.it.KafkaRequests.MetadataView;
import io.tributary.node.it.KafkaRequests.PartitionState;
import java.time.Duration;
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
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidReplicationFactorException;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 3, "Done when": a 3-node cluster elects a controller; a 6-partition topic created through AdminClient has
 * leaders on all 3 nodes and the same metadata on every node; real kafka-clients produce to and consume from every
 * partition through any bootstrap node.
 *
 * <p>One cluster (three voters) serves every test; no test kills a node, and each uses its own topics.
 */
class ClusterBasicsIT {
    private static final int NODES = 3;
    private static final int PARTITIONS = 6;

    @RegisterExtension
    static final ClusterProcesses cluster = new ClusterProcesses(NODES, NODES);

    @Test
    void electsOneActiveControllerThatEveryNodeReports() {
        // Given three voters started together (the harness waited for them to agree)
        Set<Integer> all = cluster.ids();

        // When each node is asked through DescribeCluster and Metadata
        Map<Integer, ClusterView> described = cluster.describeClusterFromEvery();
        Map<Integer, MetadataView> metadata = cluster.metadataFromEvery(List.of());

        // Then all name the same controller, one of the voters, and list the three nodes as live brokers
        int controller = described.get(1).controllerId();
        assertThat(controller).as("active controller").isIn(cluster.voterIds());
        assertThat(described).as("DescribeCluster by node").hasSize(NODES).allSatisfy((id, view) -> {
            assertThat(view.controllerId()).as("controller named by node %d", id).isEqualTo(controller);
            assertThat(view.liveBrokers()).as("live brokers listed by node %d", id).isEqualTo(all);
            assertThat(view.fencedBrokers()).as("fenced brokers listed by node %d", id).isEmpty();
        });
        assertThat(metadata).as("Metadata by node").hasSize(NODES).allSatisfy((id, view) -> {
            assertThat(view.controllerId()).as("controller in node %d's Metadata", id).isEqualTo(controller);
            assertThat(view.brokers()).as("brokers in node %d's Metadata", id).isEqualTo(all);
        });
    }

    @Test
    void spreadsTheLeadersOfASixPartitionTopicOverAllNodesAndEveryNodeDescribesItAlike() {
        // Given
        String topic = "spread";

        // When a 6-partition topic with three replicas is created through AdminClient
        Clients.createTopic(cluster.bootstrap(1), topic, PARTITIONS, NODES);

        // Then every node describes it identically (awaited), with every partition led by its first replica
        // and all three replicas in sync
        Map<Integer, PartitionState> partitions = cluster.awaitAgreedMetadata(topic).topic(topic).partitions();
        assertThat(partitions).hasSize(PARTITIONS).allSatisfy((index, partition) -> {
            assertThat(partition.replicas()).as("replicas of partition %d", index)
                    .containsExactlyInAnyOrderElementsOf(cluster.ids());
            assertThat(new HashSet<>(partition.isr())).as("ISR of partition %d", index)
                    .isEqualTo(new HashSet<>(partition.replicas()));
            assertThat(partition.leader()).as("leader of partition %d is its preferred (first) replica", index)
                    .isEqualTo(partition.replicas().get(0));
            assertThat(partition.leaderEpoch()).as("leader epoch of partition %d", index).isNotNegative();
        });
        // And the leaders are spread evenly: two partitions on each node
        assertThat(leadersByNode(partitions)).as("partitions led by each node")
                .isEqualTo(Map.of(1, 2L, 2, 2L, 3, 2L));
    }

    @Test
    void producesToAndConsumesFromEveryPartitionThroughEveryBootstrapNode() throws Exception {
        // Given a 6-partition topic whose leaders are spread over the three nodes
        String topic = "roundtrip";
        Clients.createTopic(cluster.bootstrap(2), topic, PARTITIONS, 1);
        Map<Integer, PartitionState> partitions = cluster.awaitAgreedMetadata(topic).topic(topic).partitions();
        assertThat(leadersByNode(partitions).keySet()).as("nodes leading a partition").isEqualTo(cluster.ids());

        // When an (idempotent, acks=all) producer bootstrapped from each node in turn writes to every partition
        Set<String> sent = new HashSet<>();
        for (int via : cluster.ids()) {
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

        // Then a consumer bootstrapped from each node reads every record from every partition
        for (int via : cluster.ids()) {
            List<ConsumerRecord<String, String>> read =
                    Clients.readFromBeginning(cluster.bootstrap(via), topic, PARTITIONS, sent.size());
            assertThat(read.stream().map(r -> r.partition() + ":" + r.value()).collect(Collectors.toSet()))
                    .as("records read through node %d", via)
                    .isEqualTo(sent);
            assertThat(read).as("records read through node %d, no duplicates", via).hasSize(sent.size());
        }
    }

    @Test
    void answersProduceAndFetchOnAFollowerWithNotLeaderOrFollower() {
        // Given a topic whose partitions have a leader and two followers
        String topic = "routing";
        Clients.createTopic(cluster.bootstrap(3), topic, NODES, NODES);
        Map<Integer, PartitionState> partitions = cluster.awaitAgreedMetadata(topic).topic(topic).partitions();

        partitions.forEach((index, partition) -> {
            TopicPartition tp = new TopicPartition(topic, index);
            for (int node : cluster.ids()) {
                // When Produce and Fetch are sent to that node directly
                // Then the leader takes them (once it has opened its log: until then it too answers
                // NOT_LEADER_OR_FOLLOWER, which clients retry) and the followers send the client to the leader
                if (node == partition.leader()) {
                    int leader = node;
                    await("Produce and Fetch of " + tp + " on its leader " + leader)
                            .atMost(Clients.CLIENT_DEADLINE)
                            .pollInterval(Duration.ofMillis(50))
                            .until(() -> {
                                Errors produced = KafkaRequests.produceOne(cluster.port(leader), tp, "direct");
                                Errors fetched = KafkaRequests.fetchFromStart(cluster.port(leader), tp);
                                for (Errors error : List.of(produced, fetched)) {
                                    if (error != Errors.NONE && error != Errors.NOT_LEADER_OR_FOLLOWER) {
                                        throw new AssertionError("Produce/Fetch of " + tp + " on its leader "
                                                + leader + ": " + produced + "/" + fetched);
                                    }
                                }
                                return produced == Errors.NONE && fetched == Errors.NONE;
                            });
                } else {
                    Errors produced = KafkaRequests.produceOne(cluster.port(node), tp, "direct");
                    Errors fetched = KafkaRequests.fetchFromStart(cluster.port(node), tp);
                    assertThat(produced).as("Produce to %s on node %d (leader %d)", tp, node, partition.leader())
                            .isEqualTo(Errors.NOT_LEADER_OR_FOLLOWER);
                    assertThat(fetched).as("Fetch of %s on node %d (leader %d)", tp, node, partition.leader())
                            .isEqualTo(Errors.NOT_LEADER_OR_FOLLOWER);
                }
            }
        });
    }

    @Test
    void refusesAReplicationFactorAboveTheLiveBrokerCount() {
        // Given three live brokers
        assertThat(cluster.awaitHealthy().liveBrokers()).hasSize(NODES);

        // When a topic with four replicas is asked for
        Throwable error = Clients.createTopicError(cluster.bootstrap(), "too-many-replicas", 1, NODES + 1);

        // Then CreateTopics answers INVALID_REPLICATION_FACTOR and no topic appears
        assertThat(error).isInstanceOf(InvalidReplicationFactorException.class);
        assertThat(KafkaRequests.metadata(cluster.port(1), "too-many-replicas").topics()).isEmpty();
    }

    /** How many partitions each node leads. */
    static Map<Integer, Long> leadersByNode(Map<Integer, PartitionState> partitions) {
        return partitions.values().stream()
                .collect(Collectors.groupingBy(PartitionState::leader, TreeMap::new, Collectors.counting()));
    }
}
