package io.tributary.metadata;

import io.tributary.proto.metadata.MetadataRecord;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The controller's leader elections that are not forced by a broker's failure: ElectLeaders (KIP-183, KIP-460),
 * the automatic preferred-leader rebalance ({@code auto.leader.rebalance.enable}) and unclean elections
 * ({@code unclean.leader.election.enable}). Pure, like {@link ControllerDecisions}: image and request in, one
 * {@code PartitionChangeRecord} per elected leader (leader epoch and partition epoch bumped) out.
 *
 * <p>Rules, as Kafka's KRaft controller ({@code ReplicationControlManager.electLeader},
 * {@code PartitionChangeBuilder}):
 * <ul>
 *   <li>PREFERRED: the first replica of the assignment becomes leader if it is in the ISR and registered and
 *       unfenced; ELECTION_NOT_NEEDED if it leads already; PREFERRED_LEADER_NOT_AVAILABLE otherwise. The ISR is
 *       unchanged.
 *   <li>UNCLEAN: only for a partition without a live leader (ELECTION_NOT_NEEDED otherwise): the first live ISR
 *       member in replica order if there is one (a clean election), else the first live replica, with the ISR reset
 *       to it alone (records it never had are lost); ELIGIBLE_LEADERS_NOT_AVAILABLE if no replica is live.
 *   <li>Every partition ({@code null} partitions): ELECTION_NOT_NEEDED results are left out of the answer, as Kafka
 *       leaves them out.
 * </ul>
 *
 * <p>The automatic rebalance follows Kafka's {@code KafkaController.checkAndTriggerAutoLeaderRebalance}: for each
 * broker, the share of the partitions it is the preferred replica of that it does not lead; above
 * {@code leader.imbalance.per.broker.percentage}, a preferred election for each of them whose preferred replica can
 * lead. At most {@link #MAX_ELECTIONS_PER_REBALANCE} per round (as KRaft's {@code maxElectionsPerImbalance}); the
 * next round goes on.
 */
public final class LeaderElectionDecisions {

    /** The topic config (and node default) that lets the controller elect a replica outside the ISR. */
    public static final String UNCLEAN_LEADER_ELECTION_ENABLE = "unclean.leader.election.enable";
    /** Elections one ElectLeaders request may decide (Kafka's {@code MAX_RECORDS_PER_USER_OP}). */
    static final int MAX_ELECTIONS_PER_REQUEST = 10_000;
    /** Elections one automatic rebalance round may decide. */
    static final int MAX_ELECTIONS_PER_REBALANCE = 1_000;

    /** Kafka's {@code ElectionType}, with its codes. */
    public enum ElectionType {
        PREFERRED, UNCLEAN;

        /** Kafka's code (0 PREFERRED, 1 UNCLEAN), or null if unknown. */
        public static ElectionType fromCode(int code) {
            return switch (code) {
                case 0 -> PREFERRED;
                case 1 -> UNCLEAN;
                default -> null;
            };
        }
    }

    /** One partition's outcome: NONE when a leader was elected. */
    public record PartitionResult(String topic, int partition, ControllerError error, String message) {
    }

    private LeaderElectionDecisions() {}

    /**
     * ElectLeaders.
     *
     * @param partitions partition ids by topic name, in request order; {@code null} for every partition of every
     *     topic. A partition named twice is decided (and answered) once. An explicit UNCLEAN election ignores
     *     {@code unclean.leader.election.enable}, as in Kafka.
     */
    public static ControllerResult<List<PartitionResult>> electLeaders(MetadataImage image, ElectionType type,
            Map<String, List<Integer>> partitions) {
        if (type == null) {
            return ControllerResult.error(ControllerError.INVALID_REQUEST, "Unknown election type");
        }
        boolean all = partitions == null;
        Map<String, List<Integer>> named = all ? everyPartition(image) : partitions;
        int count = named.values().stream().mapToInt(List::size).sum();
        if (!all && count > MAX_ELECTIONS_PER_REQUEST) {
            return ControllerResult.error(ControllerError.INVALID_REQUEST, "An election request may name at most "
                    + MAX_ELECTIONS_PER_REQUEST + " partitions, this one names " + count);
        }
        List<MetadataRecord> records = new ArrayList<>();
        List<PartitionResult> results = new ArrayList<>();
        for (Map.Entry<String, List<Integer>> entry : named.entrySet()) {
            String name = entry.getKey();
            TopicImage topic = image.topic(name);
            for (int id : new LinkedHashSet<>(entry.getValue())) {
                PartitionImage partition = topic == null ? null : topic.partition(id);
                if (partition == null) {
                    results.add(new PartitionResult(name, id, ControllerError.UNKNOWN_TOPIC_OR_PARTITION,
                            topic == null ? "No such topic as " + name : "No such partition as " + name + "-" + id));
                    continue;
                }
                Election election = type == ElectionType.PREFERRED ? preferred(image, partition)
                        : unclean(image, partition);
                if (election.next() != null) {
                    if (records.size() == MAX_ELECTIONS_PER_REQUEST) {
                        return ControllerResult.error(ControllerError.INVALID_REQUEST, "An election request may"
                                + " elect at most " + MAX_ELECTIONS_PER_REQUEST + " leaders; name fewer partitions");
                    }
                    records.add(ControllerDecisions.partitionChange(topic, election.next()));
                }
                if (!all || election.error() != ControllerError.ELECTION_NOT_NEEDED) {
                    results.add(new PartitionResult(name, id, election.error(), election.message(name, partition)));
                }
            }
        }
        return ControllerResult.of(records, results);
    }

    /**
     * One round of the automatic preferred-leader rebalance: preferred elections for the partitions of every broker
     * whose share of not-led preferred partitions is above {@code imbalancePercentage} percent.
     */
    public static ControllerResult<List<PartitionResult>> rebalanceLeaders(MetadataImage image,
            int imbalancePercentage) {
        // Preferred broker -> its partitions, in topic-name and partition order.
        Map<Integer, List<Placed>> preferredOf = new TreeMap<>();
        for (TopicImage topic : new TreeMap<>(image.topics()).values()) {
            for (PartitionImage partition : topic.partitions()) {
                preferredOf.computeIfAbsent(partition.replicas().get(0), b -> new ArrayList<>())
                        .add(new Placed(topic, partition));
            }
        }
        List<MetadataRecord> records = new ArrayList<>();
        List<PartitionResult> elected = new ArrayList<>();
        for (Map.Entry<Integer, List<Placed>> entry : preferredOf.entrySet()) {
            int broker = entry.getKey();
            List<Placed> partitions = entry.getValue();
            long notLed = partitions.stream().filter(p -> p.partition().leader() != broker).count();
            // Kafka: imbalanceRatio > percentage / 100, in integers
            if (notLed * 100 <= (long) imbalancePercentage * partitions.size()) {
                continue;
            }
            for (Placed placed : partitions) {
                Election election = preferred(image, placed.partition());
                if (election.next() != null && records.size() < MAX_ELECTIONS_PER_REBALANCE) {
                    records.add(ControllerDecisions.partitionChange(placed.topic(), election.next()));
                    elected.add(new PartitionResult(placed.topic().name(), placed.partition().partition(),
                            ControllerError.NONE, null));
                }
            }
        }
        return ControllerResult.of(records, elected);
    }

    /**
     * Elects a leader for every partition without one whose topic allows unclean elections (its
     * {@code unclean.leader.election.enable}, else {@code uncleanDefault}): a live ISR member if there is one, else
     * the first live replica with the ISR reset to it. Run when the metadata changes (a broker returns, a topic's
     * config is altered), as Kafka's controller elects unclean leaders on its own once the config allows it.
     */
    public static ControllerResult<List<PartitionResult>> electUncleanLeaders(MetadataImage image,
            boolean uncleanDefault) {
        List<MetadataRecord> records = new ArrayList<>();
        List<PartitionResult> elected = new ArrayList<>();
        for (TopicImage topic : new TreeMap<>(image.topics()).values()) {
            if (!uncleanElectionEnabled(topic, uncleanDefault)) {
                continue;
            }
            for (PartitionImage partition : topic.partitions()) {
                if (!hasLiveLeader(image, partition)) {
                    Election election = unclean(image, partition);
                    if (election.next() != null) {
                        records.add(ControllerDecisions.partitionChange(topic, election.next()));
                        elected.add(new PartitionResult(topic.name(), partition.partition(), ControllerError.NONE,
                                null));
                    }
                }
            }
        }
        return ControllerResult.of(records, elected);
    }

    /** Whether the topic lets the controller elect outside the ISR: its override, else the node's default. */
    public static boolean uncleanElectionEnabled(TopicImage topic, boolean uncleanDefault) {
        String value = topic.configs().get(UNCLEAN_LEADER_ELECTION_ENABLE);
        return value == null ? uncleanDefault : Boolean.parseBoolean(value.trim());
    }

    /**
     * The unclean choice for a partition with no live ISR member: the first registered, unfenced replica in
     * replica order other than {@code excluded}, or {@link PartitionImage#NO_LEADER}.
     */
    static int firstLiveReplica(MetadataImage image, List<Integer> replicas, int excluded) {
        for (int replica : replicas) {
            if (replica != excluded && isLive(image, replica)) {
                return replica;
            }
        }
        return PartitionImage.NO_LEADER;
    }

    /** A partition with its topic. */
    private record Placed(TopicImage topic, PartitionImage partition) {
    }

    /** A decided election: the partition after it (null if nothing changes) and the error to answer. */
    private record Election(PartitionImage next, ControllerError error) {

        String message(String topic, PartitionImage partition) {
            return switch (error) {
                case NONE -> null;
                case ELECTION_NOT_NEEDED -> "Leader election not needed for topic partition " + topic + "-"
                        + partition.partition() + " (leader " + partition.leader() + ")";
                case PREFERRED_LEADER_NOT_AVAILABLE -> "The preferred leader " + partition.replicas().get(0)
                        + " of " + topic + "-" + partition.partition() + " is not a live in-sync replica (ISR "
                        + partition.isr() + ")";
                case ELIGIBLE_LEADERS_NOT_AVAILABLE -> "No replica of " + topic + "-" + partition.partition() + " "
                        + partition.replicas() + " is live";
                default -> error.name();
            };
        }
    }

    private static Election preferred(MetadataImage image, PartitionImage partition) {
        int preferred = partition.replicas().get(0);
        if (partition.leader() == preferred) {
            return new Election(null, ControllerError.ELECTION_NOT_NEEDED);
        }
        if (!partition.isr().contains(preferred) || !isLive(image, preferred)) {
            return new Election(null, ControllerError.PREFERRED_LEADER_NOT_AVAILABLE);
        }
        return new Election(ControllerDecisions.withLeader(partition, preferred, partition.isr()),
                ControllerError.NONE);
    }

    private static Election unclean(MetadataImage image, PartitionImage partition) {
        if (hasLiveLeader(image, partition)) {
            return new Election(null, ControllerError.ELECTION_NOT_NEEDED);
        }
        int clean = ControllerDecisions.firstLiveIsrReplica(image, partition.replicas(), partition.isr(),
                PartitionImage.NO_LEADER);
        if (clean != PartitionImage.NO_LEADER) {
            return new Election(ControllerDecisions.withLeader(partition, clean, partition.isr()),
                    ControllerError.NONE);
        }
        int leader = firstLiveReplica(image, partition.replicas(), PartitionImage.NO_LEADER);
        if (leader == PartitionImage.NO_LEADER) {
            return new Election(null, ControllerError.ELIGIBLE_LEADERS_NOT_AVAILABLE);
        }
        return new Election(ControllerDecisions.withLeader(partition, leader, List.of(leader)), ControllerError.NONE);
    }

    private static boolean hasLiveLeader(MetadataImage image, PartitionImage partition) {
        return partition.hasLeader() && isLive(image, partition.leader());
    }

    private static boolean isLive(MetadataImage image, int brokerId) {
        BrokerRegistration broker = image.brokers().get(brokerId);
        return broker != null && !broker.fenced();
    }

    private static Map<String, List<Integer>> everyPartition(MetadataImage image) {
        Map<String, List<Integer>> all = new LinkedHashMap<>();
        for (TopicImage topic : new TreeMap<>(image.topics()).values()) {
            all.put(topic.name(), topic.partitions().stream().map(PartitionImage::partition).toList());
        }
        return all;
    }
}
