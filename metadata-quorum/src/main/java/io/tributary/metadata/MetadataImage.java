package io.tributary.metadata;

import io.tributary.proto.metadata.AccessControlEntryRecord;
import io.tributary.proto.metadata.BrokerConfigChangeRecord;
import io.tributary.proto.metadata.BrokerSnapshot;
import io.tributary.proto.metadata.ConfigChangeRecord;
import io.tributary.proto.metadata.Endpoint;
import io.tributary.proto.metadata.ImageSnapshot;
import io.tributary.proto.metadata.CreatePartitionsRecord;
import io.tributary.proto.metadata.CreateTopicRecord;
import io.tributary.proto.metadata.MetadataRecord;
import io.tributary.proto.metadata.PartitionChangeRecord;
import io.tributary.proto.metadata.PartitionRecord;
import io.tributary.proto.metadata.RegisterBrokerRecord;
import io.tributary.proto.metadata.RemoveUserScramCredentialRecord;
import io.tributary.proto.metadata.UserScramCredentialRecord;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;

/**
 * The cluster's committed metadata at one offset of the metadata log: brokers, topics with their partitions,
 * and the next free producer id. Immutable; {@link #apply} returns the next image.
 *
 * <p>{@code apply} is pure and deterministic (no clock, no randomness, no I/O): every node that replays the same
 * records gets the same image. Records that do not fit the image (a stale partition epoch, an unknown topic) are
 * skipped, never half-applied; the controller does not write them, so skipping only matters for races the
 * partition epoch exists to catch.
 *
 * <p>The image also remembers the ids of deleted topics (the most recent {@link #MAX_DELETED_TOPIC_IDS}): a broker
 * deletes a log only when its topic id is known deleted, never because a topic is merely missing from an image
 * (a torn snapshot or a stale replay must not look like a deletion).
 *
 * <p>Security metadata lives here too, replicated like the rest: users' SCRAM credentials (salted keys only) and
 * the ACLs, each with the id the controller gave it. So do the dynamic broker configs (KIP-226), per broker and
 * cluster-wide ({@link DynamicBrokerConfigs} says how they combine).
 */
public final class MetadataImage {

    public static final MetadataImage EMPTY =
            new MetadataImage(-1, Map.of(), Map.of(), Map.of(), 0, Set.of(), Map.of(), Map.of(), Map.of());
    /** How many deleted topic ids an image remembers; the oldest are forgotten first. */
    static final int MAX_DELETED_TOPIC_IDS = 100_000;

    private final long offset;
    private final Map<Integer, BrokerRegistration> brokers;
    private final Map<String, TopicImage> topicsByName;
    private final Map<UUID, TopicImage> topicsById;
    private final long nextProducerId;
    /** In deletion order, oldest first. */
    private final Set<UUID> deletedTopicIds;
    /** By user name, then Kafka's mechanism type. */
    private final Map<String, Map<Integer, UserScramCredentialRecord>> scramCredentials;
    private final Map<UUID, AccessControlEntryRecord> acls;
    /** Dynamic broker configs (KIP-226) by resource name: a broker id in decimal, or "" for the cluster default. */
    private final Map<String, Map<String, String>> brokerConfigs;

    private MetadataImage(long offset, Map<Integer, BrokerRegistration> brokers, Map<String, TopicImage> topicsByName,
            Map<UUID, TopicImage> topicsById, long nextProducerId, Set<UUID> deletedTopicIds,
            Map<String, Map<Integer, UserScramCredentialRecord>> scramCredentials,
            Map<UUID, AccessControlEntryRecord> acls, Map<String, Map<String, String>> brokerConfigs) {
        this.offset = offset;
        this.brokers = Collections.unmodifiableMap(brokers);
        this.topicsByName = Collections.unmodifiableMap(topicsByName);
        this.topicsById = Collections.unmodifiableMap(topicsById);
        this.nextProducerId = nextProducerId;
        this.deletedTopicIds = Collections.unmodifiableSet(deletedTopicIds);
        this.scramCredentials = Collections.unmodifiableMap(scramCredentials);
        this.acls = Collections.unmodifiableMap(acls);
        this.brokerConfigs = Collections.unmodifiableMap(brokerConfigs);
    }

    /** The metadata offset of the last record applied, -1 for the empty image. */
    public long offset() {
        return offset;
    }

    /** All registered brokers by id, fenced or not, in id order. */
    public Map<Integer, BrokerRegistration> brokers() {
        return brokers;
    }

    public List<BrokerRegistration> liveBrokers() {
        List<BrokerRegistration> live = new ArrayList<>();
        for (BrokerRegistration b : brokers.values()) {
            if (!b.fenced()) {
                live.add(b);
            }
        }
        return live;
    }

    /** Topics by name, in name order. */
    public Map<String, TopicImage> topics() {
        return topicsByName;
    }

    public TopicImage topic(String name) {
        return topicsByName.get(name);
    }

    public TopicImage topic(UUID topicId) {
        return topicsById.get(topicId);
    }

    /** Whether a topic with this id was deleted (one of the last {@link #MAX_DELETED_TOPIC_IDS} deletions). */
    public boolean isDeleted(UUID topicId) {
        return deletedTopicIds.contains(topicId);
    }

    /** The first producer id not yet handed out in a block. */
    public long nextProducerId() {
        return nextProducerId;
    }

    /** SCRAM credentials by user name, then Kafka's mechanism type (1 SCRAM-SHA-256, 2 SCRAM-SHA-512). */
    public Map<String, Map<Integer, UserScramCredentialRecord>> scramCredentials() {
        return scramCredentials;
    }

    /** The credential of {@code user} for {@code mechanism}, or null. */
    public UserScramCredentialRecord scramCredential(String user, int mechanism) {
        Map<Integer, UserScramCredentialRecord> byMechanism = scramCredentials.get(user);
        return byMechanism == null ? null : byMechanism.get(mechanism);
    }

    /** The ACLs by id. The map is replaced, never changed, when an ACL record applies: compare by identity. */
    public Map<UUID, AccessControlEntryRecord> acls() {
        return acls;
    }

    /**
     * The dynamic broker configs (Kafka's names) of one resource: {@code "1"} for broker 1, {@code ""} for the
     * cluster-wide default; empty if none. Replaced, never changed, when a record applies: compare by identity.
     */
    public Map<String, String> brokerConfigs(String resourceName) {
        return brokerConfigs.getOrDefault(resourceName, Map.of());
    }

    /** Every resource's dynamic broker configs, by resource name. */
    public Map<String, Map<String, String>> brokerConfigs() {
        return brokerConfigs;
    }

    /**
     * The whole image as one message: Ratis snapshots and brokers that are too far behind for deltas use it.
     * {@code fromSnapshot(toSnapshot())} equals this image.
     */
    public ImageSnapshot toSnapshot() {
        ImageSnapshot.Builder snapshot = ImageSnapshot.newBuilder().setOffset(offset).setNextProducerId(nextProducerId);
        for (BrokerRegistration b : brokers.values()) {
            RegisterBrokerRecord.Builder registration = RegisterBrokerRecord.newBuilder()
                    .setBrokerId(b.brokerId())
                    .setIncarnationId(b.incarnationId())
                    .setBrokerEpoch(b.brokerEpoch())
                    .setRack(b.rack());
            for (BrokerRegistration.BrokerEndpoint e : b.endpoints()) {
                registration.addEndpoints(Endpoint.newBuilder().setName(e.name()).setHost(e.host()).setPort(e.port()));
            }
            snapshot.addBrokers(BrokerSnapshot.newBuilder().setRegistration(registration).setFenced(b.fenced()));
        }
        for (TopicImage t : topicsByName.values()) {
            CreateTopicRecord.Builder topic = CreateTopicRecord.newBuilder()
                    .setName(t.name())
                    .setTopicId(Uuids.toProto(t.topicId()))
                    .putAllConfigs(t.configs());
            for (PartitionImage p : t.partitions()) {
                topic.addPartitions(PartitionRecord.newBuilder()
                        .setPartition(p.partition())
                        .addAllReplicas(p.replicas())
                        .addAllIsr(p.isr())
                        .setLeader(p.leader())
                        .setLeaderEpoch(p.leaderEpoch())
                        .setPartitionEpoch(p.partitionEpoch())
                        .addAllAddingReplicas(p.addingReplicas())
                        .addAllRemovingReplicas(p.removingReplicas()));
            }
            snapshot.addTopics(topic);
        }
        deletedTopicIds.forEach(id -> snapshot.addDeletedTopicIds(Uuids.toProto(id)));
        scramCredentials.values().forEach(byMechanism -> snapshot.addAllScramCredentials(byMechanism.values()));
        snapshot.addAllAcls(acls.values());
        brokerConfigs.forEach((name, configs) -> snapshot.addBrokerConfigs(
                BrokerConfigChangeRecord.newBuilder().setResourceName(name).putAllSet(configs)));
        return snapshot.build();
    }

    public static MetadataImage fromSnapshot(ImageSnapshot snapshot) {
        Map<Integer, BrokerRegistration> brokers = new TreeMap<>();
        for (BrokerSnapshot b : snapshot.getBrokersList()) {
            RegisterBrokerRecord r = b.getRegistration();
            brokers.put(r.getBrokerId(), new BrokerRegistration(r.getBrokerId(), r.getIncarnationId(),
                    r.getBrokerEpoch(), r.getEndpointsList().stream()
                            .map(e -> new BrokerRegistration.BrokerEndpoint(e.getName(), e.getHost(), e.getPort()))
                            .toList(), r.getRack(), b.getFenced()));
        }
        Map<String, TopicImage> byName = new TreeMap<>();
        Map<UUID, TopicImage> byId = new HashMap<>();
        for (CreateTopicRecord r : snapshot.getTopicsList()) {
            List<PartitionImage> partitions = new ArrayList<>();
            for (PartitionRecord p : r.getPartitionsList()) {
                partitions.add(partitionImage(p));
            }
            TopicImage topic = new TopicImage(r.getName(), Uuids.fromProto(r.getTopicId()), partitions,
                    r.getConfigsMap());
            byName.put(topic.name(), topic);
            byId.put(topic.topicId(), topic);
        }
        Set<UUID> deleted = new LinkedHashSet<>();
        snapshot.getDeletedTopicIdsList().forEach(id -> deleted.add(Uuids.fromProto(id)));
        Map<String, Map<Integer, UserScramCredentialRecord>> scram = new TreeMap<>();
        for (UserScramCredentialRecord c : snapshot.getScramCredentialsList()) {
            scram.computeIfAbsent(c.getName(), n -> new TreeMap<>()).put(c.getMechanism(), c);
        }
        Map<UUID, AccessControlEntryRecord> acls = new TreeMap<>();
        snapshot.getAclsList().forEach(a -> acls.put(Uuids.fromProto(a.getId()), a));
        Map<String, Map<String, String>> brokerConfigs = new TreeMap<>();
        snapshot.getBrokerConfigsList().forEach(c -> brokerConfigs.put(c.getResourceName(),
                Collections.unmodifiableMap(new TreeMap<>(c.getSetMap()))));
        return new MetadataImage(snapshot.getOffset(), brokers, byName, byId, snapshot.getNextProducerId(), deleted,
                scram, acls, brokerConfigs);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MetadataImage other && offset == other.offset && nextProducerId == other.nextProducerId
                && brokers.equals(other.brokers) && topicsByName.equals(other.topicsByName)
                && List.copyOf(deletedTopicIds).equals(List.copyOf(other.deletedTopicIds))
                && scramCredentials.equals(other.scramCredentials) && acls.equals(other.acls)
                && brokerConfigs.equals(other.brokerConfigs);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(offset) * 31 + topicsByName.hashCode();
    }

    /** A partition as a CreateTopic, CreatePartitions or snapshot record holds it (reassignment fields included). */
    private static PartitionImage partitionImage(PartitionRecord p) {
        return new PartitionImage(p.getPartition(), p.getReplicasList(), p.getIsrList(), p.getLeader(),
                p.getLeaderEpoch(), p.getPartitionEpoch(), p.getAddingReplicasList(), p.getRemovingReplicasList());
    }

    /** Whether the record's partitions are numbered on from the topic's last, consecutively (else it is stale). */
    private static boolean appendsPartitions(TopicImage topic, CreatePartitionsRecord r) {
        for (int i = 0; i < r.getPartitionsCount(); i++) {
            if (r.getPartitions(i).getPartition() != topic.partitions().size() + i) {
                return false;
            }
        }
        return r.getPartitionsCount() > 0;
    }

    /** Applies one committed record found at {@code recordOffset} and returns the next image. */
    public MetadataImage apply(MetadataRecord record, long recordOffset) {
        Map<Integer, BrokerRegistration> nextBrokers = brokers;
        Map<String, TopicImage> nextByName = topicsByName;
        Map<UUID, TopicImage> nextById = topicsById;
        long nextPid = nextProducerId;
        Set<UUID> nextDeleted = deletedTopicIds;
        Map<String, Map<Integer, UserScramCredentialRecord>> nextScram = scramCredentials;
        Map<UUID, AccessControlEntryRecord> nextAcls = acls;
        Map<String, Map<String, String>> nextBrokerConfigs = brokerConfigs;
        switch (record.getRecordCase()) {
            case REGISTER_BROKER -> {
                RegisterBrokerRecord r = record.getRegisterBroker();
                nextBrokers = new TreeMap<>(brokers);
                List<BrokerRegistration.BrokerEndpoint> endpoints = r.getEndpointsList().stream()
                        .map(e -> new BrokerRegistration.BrokerEndpoint(e.getName(), e.getHost(), e.getPort()))
                        .toList();
                // A new registration starts fenced; the controller unfences it once it heartbeats.
                nextBrokers.put(r.getBrokerId(), new BrokerRegistration(
                        r.getBrokerId(), r.getIncarnationId(), recordOffset, endpoints, r.getRack(), true));
            }
            case FENCE_BROKER, UNFENCE_BROKER -> {
                boolean fence = record.hasFenceBroker();
                int id = fence ? record.getFenceBroker().getBrokerId() : record.getUnfenceBroker().getBrokerId();
                long epoch = fence ? record.getFenceBroker().getBrokerEpoch()
                        : record.getUnfenceBroker().getBrokerEpoch();
                BrokerRegistration current = brokers.get(id);
                if (current != null && current.brokerEpoch() == epoch) {
                    nextBrokers = new TreeMap<>(brokers);
                    nextBrokers.put(id, current.withFenced(fence));
                }
            }
            case UNREGISTER_BROKER -> {
                int id = record.getUnregisterBroker().getBrokerId();
                BrokerRegistration current = brokers.get(id);
                if (current != null && current.brokerEpoch() == record.getUnregisterBroker().getBrokerEpoch()) {
                    nextBrokers = new TreeMap<>(brokers);
                    nextBrokers.remove(id);
                }
            }
            case CREATE_TOPIC -> {
                CreateTopicRecord r = record.getCreateTopic();
                UUID id = Uuids.fromProto(r.getTopicId());
                if (!topicsByName.containsKey(r.getName()) && !topicsById.containsKey(id)) {
                    List<PartitionImage> partitions = new ArrayList<>();
                    for (PartitionRecord p : r.getPartitionsList()) {
                        partitions.add(partitionImage(p));
                    }
                    TopicImage topic = new TopicImage(r.getName(), id, partitions, r.getConfigsMap());
                    nextByName = new TreeMap<>(topicsByName);
                    nextById = new HashMap<>(topicsById);
                    nextByName.put(topic.name(), topic);
                    nextById.put(id, topic);
                }
            }
            case DELETE_TOPIC -> {
                TopicImage topic = topicsById.get(Uuids.fromProto(record.getDeleteTopic().getTopicId()));
                if (topic != null) {
                    nextByName = new TreeMap<>(topicsByName);
                    nextById = new HashMap<>(topicsById);
                    nextByName.remove(topic.name());
                    nextById.remove(topic.topicId());
                    LinkedHashSet<UUID> deleted = new LinkedHashSet<>(deletedTopicIds);
                    deleted.add(topic.topicId());
                    while (deleted.size() > MAX_DELETED_TOPIC_IDS) {
                        deleted.remove(deleted.iterator().next());
                    }
                    nextDeleted = deleted;
                }
            }
            case PARTITION_CHANGE -> {
                PartitionChangeRecord r = record.getPartitionChange();
                TopicImage topic = topicsById.get(Uuids.fromProto(r.getTopicId()));
                PartitionImage current = topic == null ? null : topic.partition(r.getPartition());
                if (current != null && r.getPartitionEpoch() == current.partitionEpoch() + 1) {
                    List<PartitionImage> partitions = new ArrayList<>(topic.partitions());
                    partitions.set(r.getPartition(), r.getReplicasChanged()
                            ? new PartitionImage(r.getPartition(), r.getReplicasList(), r.getIsrList(),
                                    r.getLeader(), r.getLeaderEpoch(), r.getPartitionEpoch(),
                                    r.getAddingReplicasList(), r.getRemovingReplicasList())
                            : current.with(r.getIsrList(), r.getLeader(), r.getLeaderEpoch(),
                                    r.getPartitionEpoch()));
                    TopicImage changed = new TopicImage(topic.name(), topic.topicId(), partitions, topic.configs());
                    nextByName = new TreeMap<>(topicsByName);
                    nextById = new HashMap<>(topicsById);
                    nextByName.put(changed.name(), changed);
                    nextById.put(changed.topicId(), changed);
                }
            }
            case CREATE_PARTITIONS -> {
                CreatePartitionsRecord r = record.getCreatePartitions();
                TopicImage topic = topicsById.get(Uuids.fromProto(r.getTopicId()));
                if (topic != null && appendsPartitions(topic, r)) {
                    List<PartitionImage> partitions = new ArrayList<>(topic.partitions());
                    for (PartitionRecord p : r.getPartitionsList()) {
                        partitions.add(partitionImage(p));
                    }
                    TopicImage grown = new TopicImage(topic.name(), topic.topicId(), partitions, topic.configs());
                    nextByName = new TreeMap<>(topicsByName);
                    nextById = new HashMap<>(topicsById);
                    nextByName.put(grown.name(), grown);
                    nextById.put(grown.topicId(), grown);
                }
            }
            case CONFIG_CHANGE -> {
                ConfigChangeRecord r = record.getConfigChange();
                TopicImage topic = topicsById.get(Uuids.fromProto(r.getTopicId()));
                if (topic != null) {
                    Map<String, String> configs = new TreeMap<>(topic.configs());
                    configs.putAll(r.getSetMap());
                    r.getDeletedList().forEach(configs::remove);
                    TopicImage changed = new TopicImage(topic.name(), topic.topicId(), topic.partitions(), configs);
                    nextByName = new TreeMap<>(topicsByName);
                    nextById = new HashMap<>(topicsById);
                    nextByName.put(changed.name(), changed);
                    nextById.put(changed.topicId(), changed);
                }
            }
            case BROKER_CONFIG_CHANGE -> {
                BrokerConfigChangeRecord r = record.getBrokerConfigChange();
                Map<String, String> configs = new TreeMap<>(brokerConfigs(r.getResourceName()));
                configs.putAll(r.getSetMap());
                r.getDeletedList().forEach(configs::remove);
                nextBrokerConfigs = new TreeMap<>(brokerConfigs);
                if (configs.isEmpty()) {
                    nextBrokerConfigs.remove(r.getResourceName());
                } else {
                    nextBrokerConfigs.put(r.getResourceName(), Collections.unmodifiableMap(configs));
                }
            }
            case PRODUCER_ID_BLOCK -> {
                long first = record.getProducerIdBlock().getFirstProducerId();
                if (first == nextProducerId) {
                    nextPid = first + record.getProducerIdBlock().getSize();
                }
            }
            case USER_SCRAM_CREDENTIAL -> {
                UserScramCredentialRecord r = record.getUserScramCredential();
                nextScram = new TreeMap<>(scramCredentials);
                Map<Integer, UserScramCredentialRecord> byMechanism =
                        new TreeMap<>(scramCredentials.getOrDefault(r.getName(), Map.of()));
                byMechanism.put(r.getMechanism(), r);
                nextScram.put(r.getName(), Collections.unmodifiableMap(byMechanism));
            }
            case REMOVE_USER_SCRAM_CREDENTIAL -> {
                RemoveUserScramCredentialRecord r = record.getRemoveUserScramCredential();
                if (scramCredential(r.getName(), r.getMechanism()) != null) {
                    nextScram = new TreeMap<>(scramCredentials);
                    Map<Integer, UserScramCredentialRecord> byMechanism =
                            new TreeMap<>(scramCredentials.get(r.getName()));
                    byMechanism.remove(r.getMechanism());
                    if (byMechanism.isEmpty()) {
                        nextScram.remove(r.getName());
                    } else {
                        nextScram.put(r.getName(), Collections.unmodifiableMap(byMechanism));
                    }
                }
            }
            case ACCESS_CONTROL_ENTRY -> {
                AccessControlEntryRecord r = record.getAccessControlEntry();
                UUID id = Uuids.fromProto(r.getId());
                if (!acls.containsKey(id)) {
                    nextAcls = new TreeMap<>(acls);
                    nextAcls.put(id, r);
                }
            }
            case REMOVE_ACCESS_CONTROL_ENTRY -> {
                UUID id = Uuids.fromProto(record.getRemoveAccessControlEntry().getId());
                if (acls.containsKey(id)) {
                    nextAcls = new TreeMap<>(acls);
                    nextAcls.remove(id);
                }
            }
            case RECORD_NOT_SET -> throw new IllegalArgumentException("metadata record without a type at offset "
                    + recordOffset);
        }
        return new MetadataImage(recordOffset, nextBrokers, nextByName, nextById, nextPid, nextDeleted, nextScram,
                nextAcls, nextBrokerConfigs);
    }
}
