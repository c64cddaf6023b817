package io.tributary.metadata;

import io.tributary.proto.metadata.CreateTopicRecord;
import io.tributary.proto.metadata.DeleteTopicRecord;
import io.tributary.proto.metadata.Endpoint;
import io.tributary.proto.metadata.FenceBrokerRecord;
import io.tributary.proto.metadata.MetadataRecord;
import io.tributary.proto.metadata.PartitionChangeRecord;
import io.tributary.proto.metadata.PartitionRecord;
import io.tributary.proto.metadata.ProducerIdBlockRecord;
import io.tributary.proto.metadata.RegisterBrokerRecord;
import io.tributary.proto.metadata.UnfenceBrokerRecord;
import io.tributary.proto.metadata.UnregisterBrokerRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * The controller's deciding core: pure functions from the current image and a request to the records that carry
 * it out. No clock, no I/O; randomness (topic ids) comes in as an argument.
 *
 * <p>Broker liveness ({@link #fenceBroker}, {@link #unfenceBrokerAndElect}, {@link #registerBrokerIncarnation},
 * {@link #electLeaders}) follows Kafka's KRaft controller ({@code ReplicationControlManager}): a fenced broker leaves
 * every ISR except where it is the last member, which it keeps so that it can lead again when it returns; every
 * partition it led gets the first live ISR replica in replica order, or, with no live ISR member, goes offline
 * ({@link PartitionImage#NO_LEADER}) unless its topic allows unclean elections ({@code unclean.leader.election.enable},
 * the node's default passed in): then the first live replica leads with the ISR reset to it; every leader change bumps the leader epoch and every partition change the
 * partition epoch. All records of one decision are meant to be committed as one batch, in the order returned
 * (topics by name, partitions by index).
 */
public final class ControllerDecisions {

    /** Kafka's limit: 249 characters of [a-zA-Z0-9._-], not "." or "..". */
    public static final int MAX_TOPIC_NAME_LENGTH = 249;

    private static final Pattern LEGAL_TOPIC_NAME = Pattern.compile("[a-zA-Z0-9._-]+");
    /** A topic's partitions, at creation and after CreatePartitions. */
    static final int MAX_PARTITIONS = 100_000;

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

    /** One partition of a manual assignment: its replicas, the first the preferred leader. */
    public record ManualAssignment(int partition, List<Integer> replicas) {
        public ManualAssignment {
            replicas = List.copyOf(replicas);
        }
    }

    /**
     * Creates a topic with the replicas given for each partition ({@code kafka-topics --replica-assignment}),
     * validated as Kafka's KRaft controller does ({@code ReplicationControlManager.createTopic}), with its errors and
     * messages: the partition count and replication factor must be -1 (INVALID_REQUEST); each partition named once,
     * each list valid as {@link PartitionCountDecisions#replicaListProblem} says, all lists of the first one's length,
     * at least one unfenced replica per partition, and partitions numbered 0..n-1 (INVALID_REPLICA_ASSIGNMENT).
     * The replicas are placed exactly as given; the ISR is the unfenced ones, the leader the first of those.
     */
    public static ControllerResult<TopicImage> createTopicWithAssignments(MetadataImage image, String name,
            int partitionCount, int replicationFactor, List<ManualAssignment> assignments,
            Map<String, String> configs, UUID topicId) {
        String problem = topicNameProblem(name);
        if (problem != null) {
            return ControllerResult.error(ControllerError.INVALID_TOPIC_EXCEPTION, problem);
        }
        if (image.topic(name) != null) {
            return ControllerResult.error(ControllerError.TOPIC_ALREADY_EXISTS, "Topic '" + name + "' already exists.");
        }
        if (replicationFactor != -1) {
            return ControllerResult.error(ControllerError.INVALID_REQUEST, "A manual partition assignment was"
                    + " specified, but replication factor was not set to -1.");
        }
        if (partitionCount != -1) {
            return ControllerResult.error(ControllerError.INVALID_REQUEST, "A manual partition assignment was"
                    + " specified, but numPartitions was not set to -1.");
        }
        if (assignments.size() > MAX_PARTITIONS) {
            return ControllerResult.error(ControllerError.INVALID_PARTITIONS,
                    "Number of partitions must be between 1 and " + MAX_PARTITIONS + ", was " + assignments.size());
        }
        java.util.TreeMap<Integer, PartitionImage> partitions = new java.util.TreeMap<>();
        int expectedFactor = -1;
        for (ManualAssignment a : assignments) {
            if (partitions.containsKey(a.partition())) {
                return ControllerResult.error(ControllerError.INVALID_REPLICA_ASSIGNMENT, "Found multiple manual"
                        + " partition assignments for partition " + a.partition());
            }
            problem = PartitionCountDecisions.replicaListProblem(image, a.replicas(), expectedFactor);
            if (problem != null) {
                return ControllerResult.error(ControllerError.INVALID_REPLICA_ASSIGNMENT, problem);
            }
            expectedFactor = a.replicas().size();
            List<Integer> isr = a.replicas().stream().filter(b -> PartitionCountDecisions.isLive(image, b)).toList();
            if (isr.isEmpty()) {
                return ControllerResult.error(ControllerError.INVALID_REPLICA_ASSIGNMENT, "All brokers specified in"
                        + " the manual partition assignment for partition " + a.partition() + " are fenced or in"
                        + " controlled shutdown.");
            }
            partitions.put(a.partition(), new PartitionImage(a.partition(), a.replicas(), isr, isr.get(0), 0, 0));
        }
        for (int i = 0; i < partitions.size(); i++) {
            if (!partitions.containsKey(i)) {
                return ControllerResult.error(ControllerError.INVALID_REPLICA_ASSIGNMENT,
                        "partitions should be a consecutive 0-based integer sequence");
            }
        }
        if (partitions.isEmpty()) {
            return ControllerResult.error(ControllerError.INVALID_PARTITIONS,
                    "Number of partitions must be between 1 and " + MAX_PARTITIONS + ", was 0");
        }
        CreateTopicRecord.Builder topic = CreateTopicRecord.newBuilder()
                .setName(name)
                .setTopicId(Uuids.toProto(topicId))
                .putAllConfigs(configs);
        for (PartitionImage partition : partitions.values()) {
            topic.addPartitions(PartitionRecord.newBuilder()
                    .setPartition(partition.partition())
                    .addAllReplicas(partition.replicas())
                    .addAllIsr(partition.isr())
                    .setLeader(partition.leader())
                    .setLeaderEpoch(0)
                    .setPartitionEpoch(0));
        }
        TopicImage created = new TopicImage(name, topicId, List.copyOf(partitions.values()), configs);
        return ControllerResult.of(List.of(MetadataRecord.newBuilder().setCreateTopic(topic).build()), created);
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

    /**
     * Unfences a registered broker, named by the epoch of its current registration. Elects nothing: the single-node
     * path, where no partition is ever offline, uses it; a quorum uses {@link #unfenceBrokerAndElect}.
     */
    public static ControllerResult<Void> unfenceBroker(MetadataImage image, int brokerId) {
        BrokerRegistration broker = image.brokers().get(brokerId);
        if (broker == null) {
            return ControllerResult.error(ControllerError.INVALID_REQUEST, "broker " + brokerId + " is not registered");
        }
        return ControllerResult.of(List.of(unfenceRecord(broker)), null);
    }

    /**
     * Fences a broker whose session expired (or whose process was replaced): one FenceBrokerRecord for its current
     * registration, then one PartitionChangeRecord for every partition whose ISR or leadership it leaves. A broker
     * that is not registered or already fenced yields no records; that is not an error (the decision may race with
     * the broker's own re-registration).
     */
    public static ControllerResult<Void> fenceBroker(MetadataImage image, int brokerId) {
        return fenceBroker(image, brokerId, false);
    }

    /**
     * {@link #fenceBroker(MetadataImage, int)}, where a partition whose last live ISR member is the fenced leader
     * gets the first live replica outside the ISR as leader, with the ISR reset to it, if its topic allows unclean
     * elections ({@code unclean.leader.election.enable}, else {@code uncleanDefault}), as Kafka's controller does.
     */
    public static ControllerResult<Void> fenceBroker(MetadataImage image, int brokerId, boolean uncleanDefault) {
        BrokerRegistration broker = image.brokers().get(brokerId);
        if (broker == null || broker.fenced()) {
            return ControllerResult.of(List.of(), null);
        }
        List<MetadataRecord> records = new ArrayList<>();
        records.add(MetadataRecord.newBuilder()
                .setFenceBroker(FenceBrokerRecord.newBuilder()
                        .setBrokerId(brokerId).setBrokerEpoch(broker.brokerEpoch()))
                .build());
        for (TopicImage topic : image.topics().values()) {
            for (PartitionImage partition : topic.partitions()) {
                if (partition.isr().contains(brokerId)) {
                    PartitionImage next = withoutBroker(image, partition, brokerId,
                            LeaderElectionDecisions.uncleanElectionEnabled(topic, uncleanDefault));
                    if (!next.equals(partition)) {
                        records.add(partitionChange(topic, next));
                    }
                }
            }
        }
        return ControllerResult.of(records, null);
    }

    /**
     * Fences several brokers whose sessions expired together, as one batch: each in turn, every decision made on
     * the image with the previous ones applied, so that no partition is handed to a broker fenced in the same
     * batch (fencing them one commit at a time elected brokers that were about to be fenced, and left their
     * partitions offline).
     */
    public static ControllerResult<Void> fenceBrokers(MetadataImage image, List<Integer> brokerIds) {
        return fenceBrokers(image, brokerIds, false);
    }

    /** {@link #fenceBrokers(MetadataImage, List)} with the node's default for unclean elections. */
    public static ControllerResult<Void> fenceBrokers(MetadataImage image, List<Integer> brokerIds,
            boolean uncleanDefault) {
        List<MetadataRecord> records = new ArrayList<>();
        MetadataImage next = image;
        long offset = image.offset();
        for (int brokerId : brokerIds) {
            for (MetadataRecord record : fenceBroker(next, brokerId, uncleanDefault).records()) {
                records.add(record);
                next = next.apply(record, ++offset); // a scratch image: only the decisions matter
            }
        }
        return ControllerResult.of(records, null);
    }

    /**
     * Unfences a registered broker (a heartbeat with its current broker epoch) and makes it the leader of every
     * offline partition whose ISR holds it: it was that partition's last ISR member, so it has every committed
     * record.
     */
    public static ControllerResult<Void> unfenceBrokerAndElect(MetadataImage image, int brokerId) {
        return unfenceBrokerAndElect(image, brokerId, false);
    }

    /**
     * {@link #unfenceBrokerAndElect(MetadataImage, int)}; where the topic allows unclean elections
     * ({@code unclean.leader.election.enable}, else {@code uncleanDefault}) the broker also takes every offline
     * partition it is a replica of outside the ISR, with the ISR reset to it (Kafka's unfencing does the same).
     */
    public static ControllerResult<Void> unfenceBrokerAndElect(MetadataImage image, int brokerId,
            boolean uncleanDefault) {
        BrokerRegistration broker = image.brokers().get(brokerId);
        if (broker == null) {
            return ControllerResult.error(ControllerError.INVALID_REQUEST, "broker " + brokerId + " is not registered");
        }
        List<MetadataRecord> records = new ArrayList<>();
        records.add(unfenceRecord(broker));
        for (TopicImage topic : image.topics().values()) {
            for (PartitionImage partition : topic.partitions()) {
                if (!partition.hasLeader() && partition.isr().contains(brokerId)) {
                    records.add(partitionChange(topic, withLeader(partition, brokerId, partition.isr())));
                } else if (!partition.hasLeader() && partition.replicas().contains(brokerId)
                        && LeaderElectionDecisions.uncleanElectionEnabled(topic, uncleanDefault)) {
                    records.add(partitionChange(topic, withLeader(partition, brokerId, List.of(brokerId))));
                }
            }
        }
        return ControllerResult.of(records, null);
    }

    /**
     * UnregisterBroker (KIP-631): removes a broker's registration, for a node taken out of the cluster. Unlike Kafka,
     * which takes the broker out of every ISR and leaves it in the replica lists, this refuses (INVALID_REQUEST) while
     * any partition still names the broker among its replicas, so that no partition is left with a replica on a node
     * that is gone: move them first ({@code kafka-reassign-partitions}). BROKER_ID_NOT_REGISTERED if unknown. A
     * broker that is still running re-registers at its next heartbeat, as in Kafka.
     */
    public static ControllerResult<Void> unregisterBroker(MetadataImage image, int brokerId) {
        BrokerRegistration broker = image.brokers().get(brokerId);
        if (broker == null) {
            return ControllerResult.error(ControllerError.BROKER_ID_NOT_REGISTERED, "Broker ID " + brokerId
                    + " is not currently registered");
        }
        int hosted = 0;
        String example = null;
        for (TopicImage topic : image.topics().values()) {
            for (PartitionImage partition : topic.partitions()) {
                if (partition.replicas().contains(brokerId)) {
                    hosted++;
                    example = example == null ? topic.name() + "-" + partition.partition() : example;
                }
            }
        }
        if (hosted > 0) {
            return ControllerResult.error(ControllerError.INVALID_REQUEST, "Broker " + brokerId + " still hosts "
                    + hosted + " partition replica(s), for example " + example + "; reassign them to other brokers"
                    + " (kafka-reassign-partitions) before unregistering it");
        }
        return ControllerResult.of(List.of(MetadataRecord.newBuilder()
                .setUnregisterBroker(UnregisterBrokerRecord.newBuilder()
                        .setBrokerId(brokerId).setBrokerEpoch(broker.brokerEpoch()))
                .build()), null);
    }

    /**
     * Registers a broker process. If the broker is registered and unfenced, the records of {@link #fenceBroker} for
     * that registration come first, so the partitions it led move and it leaves the ISRs before the new registration
     * (which starts fenced) replaces it. Usually the old registration is another incarnation, a process gone after a
     * restart faster than the session timeout. With the same incarnation id (the broker lost its epoch, for example
     * answered by a controller whose image lagged) the fencing is needed all the same: the new registration is
     * fenced, a fenced broker must lead nothing, and {@link BrokerHeartbeatManager#expired} never lists a fenced
     * broker, so a leader fenced only by its registration would keep its partitions if it then died. A retry of a
     * registration that was never unfenced writes only the RegisterBrokerRecord.
     *
     * <p>The response is null: the new broker epoch is the offset of the RegisterBrokerRecord, known once committed.
     */
    public static ControllerResult<Long> registerBrokerIncarnation(MetadataImage image, int brokerId,
            String incarnationId, List<BrokerRegistration.BrokerEndpoint> endpoints, String rack) {
        return registerBrokerIncarnation(image, brokerId, incarnationId, endpoints, rack, false);
    }

    /** {@link #registerBrokerIncarnation}, fencing the old registration with the node's unclean default. */
    public static ControllerResult<Long> registerBrokerIncarnation(MetadataImage image, int brokerId,
            String incarnationId, List<BrokerRegistration.BrokerEndpoint> endpoints, String rack,
            boolean uncleanDefault) {
        if (brokerId < 0) {
            return ControllerResult.error(ControllerError.INVALID_REQUEST, "broker id must not be negative: "
                    + brokerId);
        }
        if (incarnationId == null || incarnationId.isEmpty()) {
            return ControllerResult.error(ControllerError.INVALID_REQUEST, "broker " + brokerId
                    + " registered without an incarnation id");
        }
        List<MetadataRecord> records = new ArrayList<>();
        BrokerRegistration current = image.brokers().get(brokerId);
        if (current != null && !current.fenced()) {
            records.addAll(fenceBroker(image, brokerId, uncleanDefault).records());
        }
        records.addAll(registerBroker(brokerId, incarnationId, endpoints, rack).records());
        return ControllerResult.of(records, null);
    }

    /**
     * Elects a leader for every offline partition that has a registered, unfenced ISR member: the first such in
     * replica order. Run by a newly active controller, so that partitions left offline by a decision that raced
     * with a fail-over come back. Never elects outside the ISR (no unclean election).
     */
    public static ControllerResult<Void> electLeaders(MetadataImage image) {
        return electLeaders(image, false);
    }

    /**
     * {@link #electLeaders(MetadataImage)}, then, for the offline partitions without a live ISR member whose topic
     * allows unclean elections ({@code unclean.leader.election.enable}, else {@code uncleanDefault}), the first live
     * replica with the ISR reset to it.
     */
    public static ControllerResult<Void> electLeaders(MetadataImage image, boolean uncleanDefault) {
        List<MetadataRecord> records = new ArrayList<>();
        for (TopicImage topic : image.topics().values()) {
            boolean unclean = LeaderElectionDecisions.uncleanElectionEnabled(topic, uncleanDefault);
            for (PartitionImage partition : topic.partitions()) {
                if (!partition.hasLeader()) {
                    int leader = firstLiveIsrReplica(image, partition.replicas(), partition.isr(),
                            PartitionImage.NO_LEADER);
                    if (leader != PartitionImage.NO_LEADER) {
                        records.add(partitionChange(topic, withLeader(partition, leader, partition.isr())));
                    } else if (unclean) {
                        leader = LeaderElectionDecisions.firstLiveReplica(image, partition.replicas(),
                                PartitionImage.NO_LEADER);
                        if (leader != PartitionImage.NO_LEADER) {
                            records.add(partitionChange(topic, withLeader(partition, leader, List.of(leader))));
                        }
                    }
                }
            }
        }
        return ControllerResult.of(records, null);
    }

    /**
     * A partition leader's request to change the ISR (AlterPartition). Accepted only from the current leader in its
     * current leader epoch, based on the current partition epoch; the new ISR must contain the leader, be a subset
     * of the replicas, and add only registered, unfenced brokers (KIP-841). Shrinking never empties the ISR.
     */
    public static ControllerResult<PartitionImage> alterPartition(MetadataImage image, UUID topicId, int partition,
            int brokerId, int leaderEpoch, int partitionEpoch, List<Integer> newIsr) {
        TopicImage topic = image.topic(topicId);
        PartitionImage current = topic == null ? null : topic.partition(partition);
        if (current == null) {
            return ControllerResult.error(ControllerError.UNKNOWN_TOPIC_OR_PARTITION, "no such partition");
        }
        if (current.leader() != brokerId || leaderEpoch != current.leaderEpoch()) {
            return ControllerResult.error(ControllerError.FENCED_LEADER_EPOCH, "broker " + brokerId + " in epoch "
                    + leaderEpoch + " does not lead " + topic.name() + "-" + partition + " (leader "
                    + current.leader() + ", epoch " + current.leaderEpoch() + ")");
        }
        if (partitionEpoch != current.partitionEpoch()) {
            return ControllerResult.error(ControllerError.INVALID_UPDATE_VERSION, "partition epoch " + partitionEpoch
                    + " is not the current " + current.partitionEpoch());
        }
        List<Integer> isr = newIsr.stream().distinct().toList();
        if (!isr.contains(brokerId) || !current.replicas().containsAll(isr)) {
            return ControllerResult.error(ControllerError.INVALID_REQUEST, "ISR " + isr
                    + " must contain the leader and only replicas " + current.replicas());
        }
        for (int replica : isr) {
            BrokerRegistration broker = image.brokers().get(replica);
            if (!current.isr().contains(replica) && (broker == null || broker.fenced())) {
                return ControllerResult.error(ControllerError.INELIGIBLE_REPLICA, "broker " + replica
                        + " is fenced and cannot join the ISR");
            }
        }
        PartitionImage next = withLeader(current, current.leader(), isr);
        // KIP-455: the ISR change that brings the last target replica into the ISR completes the reassignment, in
        // the same record (Kafka's PartitionChangeBuilder.tryCompleteReassignment).
        PartitionImage completed = ReassignmentDecisions.maybeComplete(image, next != current ? next
                : current.with(current.isr(), current.leader(), current.leaderEpoch(), current.partitionEpoch() + 1));
        if (completed != null) {
            return ControllerResult.of(List.of(replicasChange(topic, completed)), completed);
        }
        if (next == current) {
            return ControllerResult.of(List.of(), current);
        }
        return ControllerResult.of(List.of(partitionChange(topic, next)), next);
    }

    /** The partition once {@code brokerId} is fenced; the partition itself if nothing changes. */
    private static PartitionImage withoutBroker(MetadataImage image, PartitionImage partition, int brokerId,
            boolean unclean) {
        List<Integer> isr = partition.isr();
        if (isr.size() > 1) {
            isr = new ArrayList<>(isr);
            isr.remove(Integer.valueOf(brokerId));
        }
        int leader = partition.leader() == brokerId
                ? firstLiveIsrReplica(image, partition.replicas(), isr, brokerId)
                : partition.leader();
        if (leader == PartitionImage.NO_LEADER && unclean) {
            leader = LeaderElectionDecisions.firstLiveReplica(image, partition.replicas(), brokerId);
            if (leader != PartitionImage.NO_LEADER) {
                isr = List.of(leader); // unclean: the records only the old ISR had are gone
            }
        }
        return withLeader(partition, leader, isr);
    }

    /** The partition with this leader and ISR: leader epoch bumped if the leader changed, partition epoch if any. */
    static PartitionImage withLeader(PartitionImage partition, int leader, List<Integer> isr) {
        if (leader == partition.leader() && isr.equals(partition.isr())) {
            return partition;
        }
        int leaderEpoch = leader == partition.leader() ? partition.leaderEpoch() : partition.leaderEpoch() + 1;
        return partition.with(isr, leader, leaderEpoch, partition.partitionEpoch() + 1);
    }

    /** The first replica, in replica order, in {@code isr}, not {@code excluded}, registered and unfenced. */
    static int firstLiveIsrReplica(MetadataImage image, List<Integer> replicas, List<Integer> isr,
            int excluded) {
        for (int replica : replicas) {
            BrokerRegistration broker = image.brokers().get(replica);
            if (replica != excluded && isr.contains(replica) && broker != null && !broker.fenced()) {
                return replica;
            }
        }
        return PartitionImage.NO_LEADER;
    }

    /** The record that changes the leader, ISR and epochs of {@code next}'s partition to its own (replicas stay). */
    static MetadataRecord partitionChange(TopicImage topic, PartitionImage next) {
        return MetadataRecord.newBuilder().setPartitionChange(partitionChangeBuilder(topic, next)).build();
    }

    /**
     * The record that changes {@code next}'s partition to it entirely: leader, ISR, epochs, and its replicas with the
     * reassignment in progress ({@code replicas_changed}).
     */
    static MetadataRecord replicasChange(TopicImage topic, PartitionImage next) {
        return MetadataRecord.newBuilder().setPartitionChange(partitionChangeBuilder(topic, next)
                .setReplicasChanged(true)
                .addAllReplicas(next.replicas())
                .addAllAddingReplicas(next.addingReplicas())
                .addAllRemovingReplicas(next.removingReplicas()))
                .build();
    }

    private static PartitionChangeRecord.Builder partitionChangeBuilder(TopicImage topic, PartitionImage next) {
        return PartitionChangeRecord.newBuilder()
                .setTopicId(Uuids.toProto(topic.topicId()))
                .setPartition(next.partition())
                .setLeader(next.leader())
                .setLeaderEpoch(next.leaderEpoch())
                .addAllIsr(next.isr())
                .setPartitionEpoch(next.partitionEpoch());
    }

    private static MetadataRecord unfenceRecord(BrokerRegistration broker) {
        return MetadataRecord.newBuilder()
                .setUnfenceBroker(UnfenceBrokerRecord.newBuilder()
                        .setBrokerId(broker.brokerId()).setBrokerEpoch(broker.brokerEpoch()))
                .build();
    }
}
