package io.tributary.node.group;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.kafka.common.Uuid;

/**
 * The records of a KIP-848 consumer group in {@code __consumer_offsets}, one per Kafka record type (key types 3 to 8
 * of Kafka's group coordinator): the group epoch, the subscribed topics' metadata, each member's subscription, the
 * target assignment (its epoch, and each member's share) and each member's current assignment. A record with a
 * {@code null} payload is the key's tombstone. {@link GroupRecordCodec} owns the bytes.
 *
 * <p>Written as Kafka's coordinator writes them (GroupMetadataManager): a member's records before the group's, a
 * removed member's tombstones in the order current assignment, target assignment, subscription. A successor
 * coordinator rebuilds each group by replaying them in log order ({@link ConsumerGroupManager#replay}).
 */
public sealed interface ConsumerGroupRecord extends GroupRecord {

    /** Kafka's ConsumerGroupMetadataKey/Value (key type 3): the group epoch. */
    record GroupEpoch(String group, Integer epoch) implements ConsumerGroupRecord {
        public GroupEpoch {
            Objects.requireNonNull(group);
        }
    }

    /** One subscribed topic as the group last saw it in the cluster metadata. */
    record TopicMetadata(Uuid topicId, String topicName, int numPartitions) {
        public TopicMetadata {
            Objects.requireNonNull(topicId);
            Objects.requireNonNull(topicName);
        }
    }

    /**
     * Kafka's ConsumerGroupPartitionMetadataKey/Value (key type 4): the subscribed topics' ids and partition counts
     * the target assignment was computed for; a change in them bumps the group epoch. {@code topics} null: tombstone.
     */
    record SubscriptionMetadata(String group, List<TopicMetadata> topics) implements ConsumerGroupRecord {
        public SubscriptionMetadata {
            Objects.requireNonNull(group);
            topics = topics == null ? null : List.copyOf(topics);
        }
    }

    /** A member's subscription as Kafka's ConsumerGroupMemberMetadataValue (key type 5). */
    record MemberSubscription(String instanceId, String rackId, String clientId, String clientHost,
            List<String> subscribedTopicNames, String subscribedTopicRegex, int rebalanceTimeoutMs,
            String serverAssignor) {
        public MemberSubscription {
            Objects.requireNonNull(clientId);
            Objects.requireNonNull(clientHost);
            subscribedTopicNames = List.copyOf(subscribedTopicNames);
        }
    }

    /** Key type 5; {@code subscription} null: the member left (tombstone). */
    record MemberMetadata(String group, String memberId, MemberSubscription subscription)
            implements ConsumerGroupRecord {
        public MemberMetadata {
            Objects.requireNonNull(group);
            Objects.requireNonNull(memberId);
        }
    }

    /** Kafka's ConsumerGroupTargetAssignmentMetadataKey/Value (key type 6): the target assignment's epoch. */
    record TargetAssignmentEpoch(String group, Integer assignmentEpoch) implements ConsumerGroupRecord {
        public TargetAssignmentEpoch {
            Objects.requireNonNull(group);
        }
    }

    /** Kafka's ConsumerGroupTargetAssignmentMemberKey/Value (key type 7); {@code partitions} null: tombstone. */
    record TargetAssignmentMember(String group, String memberId, SortedMap<Uuid, SortedSet<Integer>> partitions)
            implements ConsumerGroupRecord {
        public TargetAssignmentMember {
            Objects.requireNonNull(group);
            Objects.requireNonNull(memberId);
            partitions = partitions == null ? null : copy(partitions);
        }
    }

    /** A member's reconciliation state, Kafka's ConsumerGroupCurrentMemberAssignmentValue. */
    record CurrentAssignment(int memberEpoch, int previousMemberEpoch, MemberState state,
            SortedMap<Uuid, SortedSet<Integer>> assignedPartitions,
            SortedMap<Uuid, SortedSet<Integer>> partitionsPendingRevocation) {
        public CurrentAssignment {
            Objects.requireNonNull(state);
            assignedPartitions = copy(assignedPartitions);
            partitionsPendingRevocation = copy(partitionsPendingRevocation);
        }
    }

    /** Key type 8; {@code assignment} null: tombstone. */
    record CurrentMemberAssignment(String group, String memberId, CurrentAssignment assignment)
            implements ConsumerGroupRecord {
        public CurrentMemberAssignment {
            Objects.requireNonNull(group);
            Objects.requireNonNull(memberId);
        }
    }

    /** Kafka's MemberState, with its byte values (as stored). */
    enum MemberState {
        STABLE((byte) 0, "stable"),
        UNREVOKED_PARTITIONS((byte) 1, "unrevoked_partitions"),
        UNRELEASED_PARTITIONS((byte) 2, "unreleased_partitions");

        final byte value;
        final String kafkaName;

        MemberState(byte value, String kafkaName) {
            this.value = value;
            this.kafkaName = kafkaName;
        }

        static MemberState of(byte value) {
            for (MemberState s : values()) {
                if (s.value == value) {
                    return s;
                }
            }
            throw new IllegalStateException("unknown consumer group member state " + value);
        }
    }

    /** An immutable sorted deep copy of an assignment (empty partition sets dropped). */
    static SortedMap<Uuid, SortedSet<Integer>> copy(Map<Uuid, ? extends Set<Integer>> partitions) {
        TreeMap<Uuid, SortedSet<Integer>> out = new TreeMap<>();
        partitions.forEach((id, ps) -> {
            if (!ps.isEmpty()) {
                out.put(id, Collections.unmodifiableSortedSet(new TreeSet<>(ps)));
            }
        });
        return Collections.unmodifiableSortedMap(out);
    }
}
