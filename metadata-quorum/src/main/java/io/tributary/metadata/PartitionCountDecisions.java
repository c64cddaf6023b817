package io.tributary.metadata;

import io.tributary.proto.metadata.CreatePartitionsRecord;
import io.tributary.proto.metadata.MetadataRecord;
import io.tributary.proto.metadata.PartitionRecord;
import java.util.ArrayList;
import java.util.List;

/**
 * The controller's decision for CreatePartitions: grow an existing topic to more partitions. Pure, like
 * {@link ControllerDecisions}: image and request in, one {@code CreatePartitionsRecord} (or an error) out.
 *
 * <p>Validation and messages follow Kafka's KRaft controller ({@code ReplicationControlManager.createPartitions}):
 * the count must grow (INVALID_PARTITIONS), the topic must exist (UNKNOWN_TOPIC_OR_PARTITION), a manual assignment
 * has one entry per new partition, each of the topic's replication factor, of distinct registered brokers with at
 * least one unfenced (INVALID_REPLICA_ASSIGNMENT), and automatic placement needs as many live brokers as the
 * replication factor (INVALID_REPLICATION_FACTOR). The count is bounded as at creation (100,000 per topic).
 *
 * <p>Placement continues the topic's own round robin, as Kafka's {@code AdminUtils.assignReplicasToBrokers} does
 * with the index of partition 0's first replica as start: new partition {@code p} gets the live brokers at
 * {@code start + p, start + p + 1, ...} (modulo their count), so leaders keep spreading as they did at creation.
 * A new partition's ISR is its live replicas, its leader the first of them, epochs 0.
 */
public final class PartitionCountDecisions {

    static final int MAX_PARTITIONS = ControllerDecisions.MAX_PARTITIONS;

    private PartitionCountDecisions() {}

    /**
     * @param assignments one replica list per new partition, or empty to let the controller place them
     * @return the new partitions, in order, as they will appear in the image
     */
    public static ControllerResult<List<PartitionImage>> createPartitions(MetadataImage image, String name,
            int count, List<List<Integer>> assignments) {
        TopicImage topic = image.topic(name);
        if (topic == null) {
            return ControllerResult.error(ControllerError.UNKNOWN_TOPIC_OR_PARTITION,
                    "This server does not host this topic-partition.");
        }
        int existing = topic.partitions().size();
        if (count < existing) {
            return ControllerResult.error(ControllerError.INVALID_PARTITIONS, "The topic " + name + " currently has "
                    + existing + " partition(s); " + count + " would not be an increase.");
        }
        if (count == existing) {
            return ControllerResult.error(ControllerError.INVALID_PARTITIONS, "Topic already has " + existing
                    + " partition(s).");
        }
        if (count > MAX_PARTITIONS) {
            return ControllerResult.error(ControllerError.INVALID_PARTITIONS,
                    "Number of partitions must be between 1 and " + MAX_PARTITIONS + ", was " + count);
        }
        int replicationFactor = topic.partitions().get(0).replicas().size();
        int added = count - existing;
        ControllerResult<List<List<Integer>>> placed = assignments.isEmpty()
                ? place(image, topic, added, replicationFactor)
                : checkAssignments(image, assignments, added, replicationFactor);
        if (placed.failed()) {
            return ControllerResult.error(placed.error(), placed.message());
        }
        CreatePartitionsRecord.Builder record = CreatePartitionsRecord.newBuilder()
                .setTopicId(Uuids.toProto(topic.topicId()));
        List<PartitionImage> partitions = new ArrayList<>();
        for (int i = 0; i < added; i++) {
            List<Integer> replicas = placed.response().get(i);
            List<Integer> isr = replicas.stream().filter(b -> isLive(image, b)).toList();
            PartitionImage partition = new PartitionImage(existing + i, replicas, isr, isr.get(0), 0, 0);
            partitions.add(partition);
            record.addPartitions(PartitionRecord.newBuilder()
                    .setPartition(partition.partition())
                    .addAllReplicas(replicas)
                    .addAllIsr(isr)
                    .setLeader(partition.leader())
                    .setLeaderEpoch(0)
                    .setPartitionEpoch(0));
        }
        return ControllerResult.of(List.of(MetadataRecord.newBuilder().setCreatePartitions(record).build()),
                partitions);
    }

    private static ControllerResult<List<List<Integer>>> place(MetadataImage image, TopicImage topic, int added,
            int replicationFactor) {
        List<Integer> live = image.liveBrokers().stream().map(BrokerRegistration::brokerId).toList();
        if (replicationFactor > live.size()) {
            return ControllerResult.error(ControllerError.INVALID_REPLICATION_FACTOR, "Unable to replicate the"
                    + " partition " + replicationFactor + " time(s): The target replication factor of "
                    + replicationFactor + " cannot be reached because only " + live.size() + " broker(s) are"
                    + " registered.");
        }
        // Kafka's start index: the first live broker at or after partition 0's first replica (else the first).
        int first = topic.partitions().get(0).replicas().get(0);
        int start = 0;
        while (start < live.size() && live.get(start) < first) {
            start++;
        }
        if (start == live.size()) {
            start = 0;
        }
        int existing = topic.partitions().size();
        List<List<Integer>> placed = new ArrayList<>();
        for (int i = 0; i < added; i++) {
            List<Integer> replicas = new ArrayList<>();
            for (int r = 0; r < replicationFactor; r++) {
                replicas.add(live.get((start + existing + i + r) % live.size()));
            }
            placed.add(List.copyOf(replicas));
        }
        return ControllerResult.of(List.of(), placed);
    }

    private static ControllerResult<List<List<Integer>>> checkAssignments(MetadataImage image,
            List<List<Integer>> assignments, int added, int replicationFactor) {
        if (assignments.size() != added) {
            return ControllerResult.error(ControllerError.INVALID_REPLICA_ASSIGNMENT, "Attempted to add " + added
                    + " additional partition(s), but only " + assignments.size() + " assignment(s) were specified.");
        }
        for (int i = 0; i < added; i++) {
            String problem = replicaListProblem(image, assignments.get(i), replicationFactor);
            if (problem == null && assignments.get(i).stream().noneMatch(b -> isLive(image, b))) {
                problem = "All brokers specified in the manual partition assignment for partition " + i
                        + " are fenced.";
            }
            if (problem != null) {
                return ControllerResult.error(ControllerError.INVALID_REPLICA_ASSIGNMENT, problem);
            }
        }
        return ControllerResult.of(List.of(), assignments.stream().map(List::copyOf).toList());
    }

    /**
     * Kafka's {@code ReplicationControlManager.validateManualPartitionAssignment}, with its messages: a non-empty
     * list of registered brokers, none twice (checked in broker id order, as Kafka), of {@code replicationFactor}
     * replicas (-1: any); null if the list is valid.
     */
    static String replicaListProblem(MetadataImage image, List<Integer> replicas, int replicationFactor) {
        if (replicas.isEmpty()) {
            return "The manual partition assignment includes an empty replica list.";
        }
        List<Integer> sorted = new ArrayList<>(replicas);
        sorted.sort(Integer::compare);
        Integer previous = null;
        for (Integer broker : sorted) {
            if (!image.brokers().containsKey(broker)) {
                return "The manual partition assignment includes broker " + broker + ", but no such broker is"
                        + " registered.";
            }
            if (broker.equals(previous)) {
                return "The manual partition assignment includes the broker " + previous + " more than once.";
            }
            previous = broker;
        }
        if (replicationFactor >= 0 && sorted.size() != replicationFactor) {
            return "The manual partition assignment includes a partition with " + sorted.size() + " replica(s), but"
                    + " this is not consistent with previous partitions, which have " + replicationFactor
                    + " replica(s).";
        }
        return null;
    }

    static boolean isLive(MetadataImage image, int brokerId) {
        BrokerRegistration broker = image.brokers().get(brokerId);
        return broker != null && !broker.fenced();
    }
}
