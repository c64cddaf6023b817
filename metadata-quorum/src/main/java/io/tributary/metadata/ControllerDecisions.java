package io.tributary.metadata;

import io.tributary.proto.metadata.CreateTopicRecord;
import io.tributary.proto.metadata.DeleteTopicRecord;
import io.tributary.proto.metadata.Endpoint;
import io.tributary.proto.metadata.MetadataRecord;
import io.tributary.proto.metadata.PartitionRecord;
import io.tributary.proto.metadata.ProducerIdBlockRecord;
import io.tributary.proto.metadata.RegisterBrokerRecord;
import io.tributary.proto.metadata.UnfenceBrokerRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * The controller's deciding core: pure functions from the current image and a request to the records that carry
 * it out. No clock, no I/O; randomness (topic ids) comes in as an argument.
 */
public final class ControllerDecisions {

    /** Kafka's limit: 249 characters of [a-zA-Z0-9._-], not "." or "..". */
    public static final int MAX_TOPIC_NAME_LENGTH = 249;

    private static final Pattern LEGAL_TOPIC_NAME = Pattern.compile("[a-zA-Z0-9._-]+");
    private static final int MAX_PARTITIONS = 100_000;

    private ControllerDecisions() {}

    /** Null if the name is a legal Kafka topic name, else why not. */
    public static String topicNameProblem(String name) {
        if (name == null || name.isEmpty()) {
            return "Topic name is empty";
        }
        if (name.equals(".") || name.equals("..")) {
            return "Topic name cannot be \".\" or \"..\"";
        }
        if (name.length() > MAX_TOPIC_NAME_LENGTH) {
            return "Topic name is longer than " + MAX_TOPIC_NAME_LENGTH + " characters";
        }
        if (!LEGAL_TOPIC_NAME.matcher(name).matches()) {
            return "Topic name \"" + name + "\" is illegal, it contains a character other than ASCII alphanumerics,"
                    + " '.', '_' and '-'";
        }
        return null;
    }

    /**
     * Creates a topic with {@code partitionCount} partitions of {@code replicationFactor} replicas each, placed over
     * the live brokers so that leaders and replicas spread evenly.
     */
    public static ControllerResult<TopicImage> createTopic(MetadataImage image, String name, int partitionCount,
            int replicationFactor, Map<String, String> configs, UUID topicId) {
        String problem = topicNameProblem(name);
        if (problem != null) {
            return ControllerResult.error(ControllerError.INVALID_TOPIC_EXCEPTION, problem);
        }
        if (image.topic(name) != null) {
            return ControllerResult.error(ControllerError.TOPIC_ALREADY_EXISTS, "Topic '" + name + "' already exists.");
        }
        if (partitionCount <= 0 || partitionCount > MAX_PARTITIONS) {
            return ControllerResult.error(ControllerError.INVALID_PARTITIONS,
                    "Number of partitions must be between 1 and " + MAX_PARTITIONS + ", was " + partitionCount);
        }
        List<Integer> live = image.liveBrokers().stream().map(BrokerRegistration::brokerId).toList();
        if (replicationFactor <= 0 || replicationFactor > live.size()) {
            return ControllerResult.error(ControllerError.INVALID_REPLICATION_FACTOR, "Replication factor: "
                    + replicationFactor + " larger than available brokers: " + live.size() + ".");
        }
        // Start where the previous topics left off so that leaders of many small topics spread too.
        int start = image.topics().values().stream().mapToInt(t -> t.partitions().size()).sum();
        CreateTopicRecord.Builder topic = CreateTopicRecord.newBuilder()
                .setName(name)
                .setTopicId(Uuids.toProto(topicId))
                .putAllConfigs(configs);
        List<PartitionImage> partitions = new ArrayList<>();
        for (int p = 0; p < partitionCount; p++) {
            List<Integer> replicas = new ArrayList<>();
            for (int r = 0; r < replicationFactor; r++) {
                replicas.add(live.get((start + p + r) % live.size()));
            }
            PartitionImage partition = new PartitionImage(p, replicas, replicas, replicas.get(0), 0, 0);
            partitions.add(partition);
            topic.addPartitions(PartitionRecord.newBuilder()
                    .setPartition(p)
                    .addAllReplicas(replicas)
                    .addAllIsr(replicas)
                    .setLeader(partition.leader())
                    .setLeaderEpoch(0)
                    .setPartitionEpoch(0));
        }
        TopicImage created = new TopicImage(name, topicId, partitions, configs);
        return ControllerResult.of(
                List.of(MetadataRecord.newBuilder().setCreateTopic(topic).build()), created);
    }

    public static ControllerResult<TopicImage> deleteTopic(MetadataImage image, String name) {
        TopicImage topic = image.topic(name);
        if (topic == null) {
            return ControllerResult.error(ControllerError.UNKNOWN_TOPIC_OR_PARTITION,
                    "This server does not host this topic-partition.");
        }
        return ControllerResult.of(List.of(MetadataRecord.newBuilder()
                .setDeleteTopic(DeleteTopicRecord.newBuilder().setTopicId(Uuids.toProto(topic.topicId())))
                .build()), topic);
    }

    /** Hands a block of {@code size} producer ids to a broker; the response is the first id of the block. */
    public static ControllerResult<Long> allocateProducerIds(MetadataImage image, int brokerId, int size) {
        if (size <= 0) {
            throw new IllegalArgumentException("producer id block size must be positive: " + size);
        }
        long first = image.nextProducerId();
        return ControllerResult.of(List.of(MetadataRecord.newBuilder()
                .setProducerIdBlock(ProducerIdBlockRecord.newBuilder()
                        .setBrokerId(brokerId).setFirstProducerId(first).setSize(size))
                .build()), first);
    }

    /** Registers a broker process (a new incarnation) with its endpoints. */
    public static ControllerResult<Void> registerBroker(int brokerId, String incarnationId,
            List<BrokerRegistration.BrokerEndpoint> endpoints, String rack) {
        RegisterBrokerRecord.Builder record = RegisterBrokerRecord.newBuilder()
                .setBrokerId(brokerId)
                .setIncarnationId(incarnationId)
                .setRack(rack == null ? "" : rack);
        for (BrokerRegistration.BrokerEndpoint e : endpoints) {
            record.addEndpoints(Endpoint.newBuilder().setName(e.name()).setHost(e.host()).setPort(e.port()));
        }
        return ControllerResult.of(List.of(MetadataRecord.newBuilder().setRegisterBroker(record).build()), null);
    }

    /** Unfences a registered broker, named by the epoch of its current registration. */
    public static ControllerResult<Void> unfenceBroker(MetadataImage image, int brokerId) {
        BrokerRegistration broker = image.brokers().get(brokerId);
        if (broker == null) {
            return ControllerResult.error(ControllerError.INVALID_REQUEST, "broker " + brokerId + " is not registered");
        }
        return ControllerResult.of(List.of(MetadataRecord.newBuilder()
                .setUnfenceBroker(UnfenceBrokerRecord.newBuilder()
                        .setBrokerId(brokerId).setBrokerEpoch(broker.brokerEpoch()))
                .build()), null);
    }
}
