package io.tributary.node.group;

import io.tributary.node.group.ConsumerGroupRecord.CurrentAssignment;
import io.tributary.node.group.ConsumerGroupRecord.MemberState;
import io.tributary.node.group.ConsumerGroupRecord.MemberSubscription;
import io.tributary.node.group.ConsumerGroupRecord.TopicMetadata;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import org.apache.kafka.common.Uuid;

/**
 * One KIP-848 consumer group's state (Kafka's ConsumerGroup): its epoch, members, target assignment and which member
 * epoch holds each partition. Pure bookkeeping, changed only by {@link ConsumerGroupManager#replay} of its records, so
 * a coordinator that loads the records has the same state. Members are kept in join order.
 *
 * <p>State (Kafka's names): {@code Empty} without members; {@code Assigning} while the group epoch is ahead of the
 * target assignment's; {@code Reconciling} while a member has not reached the target (its epoch or state);
 * {@code Stable} otherwise.
 */
final class ConsumerGroup {

    /** A member: its subscription (from its heartbeats) and its reconciliation state. */
    static final class Member {
        final String memberId;
        MemberSubscription subscription;
        CurrentAssignment current = EMPTY_ASSIGNMENT;
        /** Not persisted: a loading coordinator restarts every session (as Kafka does). */
        long sessionDeadlineMs;
        /** When a member asked to revoke partitions must have done so (its rebalance timeout); else MAX_VALUE. */
        long rebalanceDeadlineMs = Long.MAX_VALUE;

        Member(String memberId) {
            this.memberId = memberId;
        }

        int memberEpoch() {
            return current.memberEpoch();
        }

        String instanceId() {
            return subscription == null ? null : subscription.instanceId();
        }
    }

    static final CurrentAssignment EMPTY_ASSIGNMENT = new CurrentAssignment(0, 0, MemberState.STABLE, new TreeMap<>(),
            new TreeMap<>());

    final String groupId;
    int groupEpoch;
    int assignmentEpoch;
    final LinkedHashMap<String, Member> members = new LinkedHashMap<>();
    final Map<String, SortedMap<Uuid, SortedSet<Integer>>> targetAssignment = new HashMap<>();
    /** topic id -> partition -> the epoch of the member that holds it (assigned or pending revocation). */
    final Map<Uuid, Map<Integer, Integer>> partitionEpochs = new HashMap<>();
    List<TopicMetadata> subscriptionMetadata = List.of();
    /** The members' regexes and the topics each matched at the last heartbeat (not persisted; a load re-resolves). */
    final Map<String, java.util.Set<String>> regexMatches = new HashMap<>();

    ConsumerGroup(String groupId) {
        this.groupId = groupId;
    }

    String state() {
        if (members.isEmpty()) {
            return "Empty";
        }
        if (groupEpoch > assignmentEpoch) {
            return "Assigning";
        }
        for (Member m : members.values()) {
            if (m.memberEpoch() != assignmentEpoch || m.current.state() != MemberState.STABLE) {
                return "Reconciling";
            }
        }
        return "Stable";
    }

    /** The epoch of the member holding the partition, -1 if it is free. */
    int currentPartitionEpoch(Uuid topic, int partition) {
        return partitionEpochs.getOrDefault(topic, Map.of()).getOrDefault(partition, -1);
    }

    Member staticMember(String instanceId) {
        for (Member m : members.values()) {
            if (instanceId.equals(m.instanceId())) {
                return m;
            }
        }
        return null;
    }

    SortedMap<Uuid, SortedSet<Integer>> target(String memberId) {
        return targetAssignment.getOrDefault(memberId, new TreeMap<>());
    }

    /**
     * Sets a member's reconciliation state, moving its partitions' epochs. Live ({@code strict}), a partition held by
     * another member is a broken invariant (revoke before assign) and throws. While loading, the later record wins:
     * a log whose append failed half way (the coordinator then lost its partition) must still load.
     */
    void setCurrent(Member member, CurrentAssignment next, boolean strict) {
        release(member);
        member.current = next;
        hold(member.memberId, next.assignedPartitions(), next.memberEpoch(), strict);
        hold(member.memberId, next.partitionsPendingRevocation(), next.memberEpoch(), strict);
    }

    void release(Member member) {
        unhold(member.current.assignedPartitions());
        unhold(member.current.partitionsPendingRevocation());
    }

    private void hold(String memberId, SortedMap<Uuid, SortedSet<Integer>> partitions, int epoch, boolean strict) {
        partitions.forEach((topic, ps) -> {
            Map<Integer, Integer> epochs = partitionEpochs.computeIfAbsent(topic, t -> new HashMap<>());
            for (int p : ps) {
                Integer previous = epochs.put(p, epoch);
                if (previous != null && strict) {
                    throw new IllegalStateException("group " + groupId + ": partition " + topic + "-" + p
                            + " given to member " + memberId + " while held at epoch " + previous);
                }
            }
        });
    }

    private void unhold(SortedMap<Uuid, SortedSet<Integer>> partitions) {
        partitions.forEach((topic, ps) -> {
            Map<Integer, Integer> epochs = partitionEpochs.get(topic);
            if (epochs != null) {
                ps.forEach(epochs::remove);
                if (epochs.isEmpty()) {
                    partitionEpochs.remove(topic);
                }
            }
        });
    }
}
