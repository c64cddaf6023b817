package io.tributary.node.group;

import io.tributary.node.group.GroupRecord.GroupMetadataRecord;
import io.tributary.node.group.GroupRecord.MemberRecord;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.consumer.internals.ConsumerProtocol;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.message.JoinGroupResponseData;
import org.apache.kafka.common.message.SyncGroupResponseData;
import org.apache.kafka.common.protocol.Errors;

/**
 * One classic group's membership and committed offsets (Kafka's ClassicGroup plus its offsets). Pure bookkeeping:
 * the decisions live in {@link MembershipManager} and {@link OffsetManager}. Members are kept in join order, so the
 * choice of a new leader is deterministic.
 */
final class ClassicGroup {

    /**
     * A committed offset (Kafka's OffsetAndMetadata), and the log offset of the record that committed it
     * ({@code recordOffset}): when a transaction's COMMIT marker applies its offsets, a partition's later regular
     * commit (a higher record offset) wins, as in Kafka.
     */
    record CommittedOffset(long offset, int leaderEpoch, String metadata, long commitTimestampMs, long recordOffset) {
    }

    final String groupId;
    GroupState state = new GroupState.Empty();
    /** When the group entered its current state: offsets retention of an Empty group counts from it. */
    long stateSinceMs;
    String protocolType;
    String protocolName;
    int generation;
    String leaderId;
    final LinkedHashMap<String, GroupMember> members = new LinkedHashMap<>();
    /** group.instance.id -> member id (KIP-345). */
    final Map<String, String> staticMembers = new HashMap<>();
    /** KIP-394: member ids handed out with MEMBER_ID_REQUIRED -> the deadline to rejoin with them. */
    final LinkedHashMap<String, Long> pendingJoinMembers = new LinkedHashMap<>();
    final Set<String> pendingSyncMembers = new LinkedHashSet<>();
    /** Set when a member joins during the initial rebalance: extends the initial delay. */
    boolean newMemberAdded;
    /** Topics the members subscribe to (consumer protocol), null if unknown. */
    Set<String> subscribedTopics;
    final Map<TopicPartition, CommittedOffset> offsets = new HashMap<>();

    ClassicGroup(String groupId, long nowMs) {
        this.groupId = groupId;
        this.stateSinceMs = nowMs;
    }

    void transitionTo(GroupState next, long nowMs) {
        state = state.checkTransition(next);
        stateSinceMs = nowMs;
    }

    boolean is(Class<? extends GroupState> s) {
        return s.isInstance(state);
    }

    GroupMember member(String memberId) {
        return members.get(memberId);
    }

    boolean hasMember(String memberId) {
        return members.containsKey(memberId);
    }

    boolean isLeader(String memberId) {
        return memberId.equals(leaderId);
    }

    int numAwaitingJoin() {
        return (int) members.values().stream().filter(GroupMember::awaitingJoin).count();
    }

    boolean hasAllMembersJoined() {
        return pendingJoinMembers.isEmpty() && members.values().stream().allMatch(GroupMember::awaitingJoin);
    }

    /** The maximum rebalance timeout over the members (Kafka's group rebalance timeout). */
    int rebalanceTimeoutMs() {
        return members.values().stream().mapToInt(m -> m.rebalanceTimeoutMs).max().orElse(0);
    }

    boolean usesConsumerProtocol() {
        return ConsumerProtocol.PROTOCOL_TYPE.equals(protocolType);
    }

    /** Kafka's supportsProtocols: an Empty group takes any non-empty type; else the type must match and one of the
     * member's protocols must be supported by every member. */
    boolean supportsProtocols(String memberProtocolType, List<GroupMember.Protocol> memberProtocols) {
        if (is(GroupState.Empty.class)) {
            return memberProtocolType != null && !memberProtocolType.isEmpty() && !memberProtocols.isEmpty();
        }
        return memberProtocolType.equals(protocolType) && memberProtocols.stream()
                .anyMatch(p -> members.values().stream().allMatch(m -> m.supports(p.name())));
    }

    void add(GroupMember member, CompletableFuture<JoinGroupResponseData> joinFuture) {
        if (member.isStatic()) {
            String previous = staticMembers.putIfAbsent(member.groupInstanceId, member.memberId);
            if (previous != null) {
                throw new IllegalStateException("static member " + member.groupInstanceId + " already in group");
            }
        }
        if (members.isEmpty()) {
            protocolType = member.protocolType;
        }
        if (leaderId == null) {
            leaderId = member.memberId;
        }
        members.put(member.memberId, member);
        member.joinFuture = joinFuture;
        pendingJoinMembers.remove(member.memberId);
    }

    /**
     * Removes a member, answering its outstanding JoinGroup/SyncGroup with {@code error} so that no request is left
     * hanging; elects the next member in join order as leader if it led.
     */
    void remove(String memberId, Errors error) {
        GroupMember removed = members.remove(memberId);
        if (removed != null) {
            completeJoin(removed, new JoinGroupResponseData().setMemberId(memberId).setErrorCode(error.code()));
            completeSync(removed, new SyncGroupResponseData().setErrorCode(error.code()));
            if (removed.isStatic()) {
                staticMembers.remove(removed.groupInstanceId);
            }
        }
        if (isLeader(memberId)) {
            leaderId = members.isEmpty() ? null : members.keySet().iterator().next();
        }
        pendingJoinMembers.remove(memberId);
        pendingSyncMembers.remove(memberId);
    }

    /** KIP-345: the static member's new incarnation replaces the old one, keeping its place and assignment; the old
     * incarnation's outstanding requests are fenced. */
    GroupMember replaceStaticMember(String groupInstanceId, String oldMemberId, String newMemberId) {
        GroupMember old = members.get(oldMemberId);
        completeJoin(old, new JoinGroupResponseData().setMemberId(oldMemberId).setLeader("")
                .setErrorCode(Errors.FENCED_INSTANCE_ID.code()));
        completeSync(old, new SyncGroupResponseData().setErrorCode(Errors.FENCED_INSTANCE_ID.code()));
        GroupMember replacement = old.withMemberId(newMemberId);
        LinkedHashMap<String, GroupMember> reordered = new LinkedHashMap<>();
        members.forEach((id, m) -> reordered.put(id.equals(oldMemberId) ? newMemberId : id,
                id.equals(oldMemberId) ? replacement : m));
        members.clear();
        members.putAll(reordered);
        if (pendingSyncMembers.remove(oldMemberId)) {
            pendingSyncMembers.add(newMemberId);
        }
        if (isLeader(oldMemberId)) {
            leaderId = newMemberId;
        }
        staticMembers.put(groupInstanceId, newMemberId);
        return replacement;
    }

    static void completeJoin(GroupMember member, JoinGroupResponseData response) {
        if (member.joinFuture != null) {
            CompletableFuture<JoinGroupResponseData> f = member.joinFuture;
            member.joinFuture = null;
            f.complete(response);
        }
    }

    static void completeSync(GroupMember member, SyncGroupResponseData response) {
        if (member.syncFuture != null) {
            CompletableFuture<SyncGroupResponseData> f = member.syncFuture;
            member.syncFuture = null;
            f.complete(response);
        }
    }

    /** Kafka's selectProtocol: among the protocols every member supports, the one most members prefer; ties go to
     * the earliest-joined member's preference order (Kafka leaves ties to hash order). */
    String selectProtocol() {
        Set<String> candidates = new HashSet<>();
        GroupMember first = members.values().iterator().next();
        for (GroupMember.Protocol p : first.protocols) {
            if (members.values().stream().allMatch(m -> m.supports(p.name()))) {
                candidates.add(p.name());
            }
        }
        Map<String, Integer> votes = new HashMap<>();
        members.values().forEach(m -> votes.merge(m.vote(candidates), 1, Integer::sum));
        String best = null;
        for (GroupMember.Protocol p : first.protocols) {
            if (votes.containsKey(p.name()) && (best == null || votes.get(p.name()) > votes.get(best))) {
                best = p.name();
            }
        }
        return best;
    }

    /** Kafka's computeSubscribedTopics: the union of the consumer-protocol subscriptions, null if unknown. */
    Set<String> computeSubscribedTopics() {
        if (!usesConsumerProtocol()) {
            return null;
        }
        if (members.isEmpty()) {
            return Set.of();
        }
        if (protocolName == null) {
            return null;
        }
        try {
            Set<String> topics = new HashSet<>();
            for (GroupMember m : members.values()) {
                ByteBuffer buffer = ByteBuffer.wrap(m.metadata(protocolName));
                // V0 is the prefix of every version, so this does not depend on the client's version.
                ConsumerProtocol.deserializeVersion(buffer);
                topics.addAll(ConsumerProtocol.deserializeConsumerProtocolSubscription(buffer, (short) 0).topics());
            }
            return topics;
        } catch (RuntimeException e) {
            return null; // Kafka: the coordinator is then not aware of the subscribed topics
        }
    }

    boolean isSubscribedToTopic(String topic) {
        return subscribedTopics != null ? subscribedTopics.contains(topic) : usesConsumerProtocol();
    }

    List<JoinGroupResponseData.JoinGroupResponseMember> joinResponseMembers() {
        List<JoinGroupResponseData.JoinGroupResponseMember> list = new ArrayList<>();
        for (GroupMember m : members.values()) {
            list.add(new JoinGroupResponseData.JoinGroupResponseMember().setMemberId(m.memberId)
                    .setGroupInstanceId(m.groupInstanceId).setMetadata(m.metadata(protocolName)));
        }
        return list;
    }

    /** The snapshot a successor coordinator loads (Kafka's GroupMetadataValue). */
    GroupMetadataRecord snapshot() {
        List<MemberRecord> list = new ArrayList<>();
        for (GroupMember m : members.values()) {
            list.add(new MemberRecord(m.memberId, m.groupInstanceId, m.clientId, m.clientHost, m.rebalanceTimeoutMs,
                    m.sessionTimeoutMs, m.metadata(protocolName), m.assignment));
        }
        return new GroupMetadataRecord(groupId, protocolType, protocolName, generation, leaderId, stateSinceMs, list);
    }
}
