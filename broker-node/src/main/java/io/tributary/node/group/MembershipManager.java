package io.tributary.node.group;

import io.tributary.node.group.GroupState.CompletingRebalance;
import io.tributary.node.group.GroupState.Dead;
import io.tributary.node.group.GroupState.Empty;
import io.tributary.node.group.GroupState.PreparingRebalance;
import io.tributary.node.group.GroupState.Stable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import org.apache.kafka.common.message.HeartbeatRequestData;
import org.apache.kafka.common.message.HeartbeatResponseData;
import org.apache.kafka.common.message.JoinGroupRequestData;
import org.apache.kafka.common.message.JoinGroupResponseData;
import org.apache.kafka.common.message.LeaveGroupRequestData;
import org.apache.kafka.common.message.LeaveGroupResponseData;
import org.apache.kafka.common.message.SyncGroupRequestData;
import org.apache.kafka.common.message.SyncGroupResponseData;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.JoinGroupRequest;

/**
 * The classic rebalance protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup and their timers), following Kafka's
 * GroupMetadataManager. Membership is applied in memory as it is decided; every generation's assignment (and every
 * group that becomes Empty) is queued as a {@link GroupRecord.GroupMetadataRecord} snapshot for the driver to
 * persist. Called only by {@link GroupCoordinator}, on its thread.
 */
final class MembershipManager {

    private final GroupCoordinatorConfig config;
    private final Map<String, ClassicGroup> groups;
    private final Supplier<String> uniqueIds;
    private final List<GroupRecord> outbox;

    MembershipManager(GroupCoordinatorConfig config, Map<String, ClassicGroup> groups, Supplier<String> uniqueIds,
            List<GroupRecord> outbox) {
        this.config = config;
        this.groups = groups;
        this.uniqueIds = uniqueIds;
        this.outbox = outbox;
    }

    // ---- JoinGroup ----

    CompletableFuture<JoinGroupResponseData> joinGroup(JoinGroupRequestData req, short version, String clientId,
            String clientHost, long nowMs) {
        CompletableFuture<JoinGroupResponseData> future = new CompletableFuture<>();
        String memberId = req.memberId() == null ? "" : req.memberId();
        if (req.groupId() == null || req.groupId().isEmpty()) {
            return joinError(future, memberId, Errors.INVALID_GROUP_ID);
        }
        if (req.sessionTimeoutMs() < config.minSessionTimeoutMs()
                || req.sessionTimeoutMs() > config.maxSessionTimeoutMs()) {
            return joinError(future, memberId, Errors.INVALID_SESSION_TIMEOUT);
        }
        boolean unknownMember = memberId.isEmpty();
        ClassicGroup group = groups.get(req.groupId());
        boolean newGroup = group == null;
        if (newGroup) {
            if (!unknownMember) {
                return joinError(future, memberId, Errors.UNKNOWN_MEMBER_ID);
            }
            group = new ClassicGroup(req.groupId(), nowMs);
            groups.put(req.groupId(), group);
        }
        if (!acceptJoiningMember(group, memberId)) {
            if (group.hasMember(memberId) || group.pendingJoinMembers.containsKey(memberId)) {
                removeMemberAndUpdateGroup(group, memberId, Errors.GROUP_MAX_SIZE_REACHED, nowMs);
            }
            joinError(future, "", Errors.GROUP_MAX_SIZE_REACHED);
        } else if (unknownMember) {
            joinNewMember(group, req, version, clientId, clientHost, future, nowMs);
        } else {
            joinExistingMember(group, req, version, clientId, clientHost, future, nowMs);
        }
        if (newGroup && group.members.isEmpty() && group.pendingJoinMembers.isEmpty()
                && group.is(Empty.class)) {
            groups.remove(group.groupId); // nothing joined: no group to keep (Kafka removes it too)
        }
        fireJoinDeadlineIfDue(group, nowMs); // an initial rebalance delay of 0 completes at once
        return future;
    }

    private boolean acceptJoiningMember(ClassicGroup group, String memberId) {
        if (group.is(Empty.class) || group.is(Dead.class)) {
            return true;
        }
        if (group.is(PreparingRebalance.class)) {
            return (group.hasMember(memberId) && group.member(memberId).awaitingJoin())
                    || group.numAwaitingJoin() < config.groupMaxSize();
        }
        return group.hasMember(memberId) || group.members.size() < config.groupMaxSize();
    }

    private void joinNewMember(ClassicGroup group, JoinGroupRequestData req, short version, String clientId,
            String clientHost, CompletableFuture<JoinGroupResponseData> future, long nowMs) {
        List<GroupMember.Protocol> protocols = protocols(req);
        if (group.is(Dead.class)) {
            joinError(future, "", Errors.COORDINATOR_NOT_AVAILABLE);
        } else if (!group.supportsProtocols(req.protocolType(), protocols)) {
            joinError(future, "", Errors.INCONSISTENT_GROUP_PROTOCOL);
        } else {
            String instanceId = req.groupInstanceId();
            String newMemberId = newMemberId(group, instanceId != null ? instanceId : clientId);
            if (instanceId != null) {
                joinNewStaticMember(group, req, version, clientId, clientHost, newMemberId, future, nowMs);
            } else if (JoinGroupRequest.requiresKnownMemberId(version)) {
                // KIP-394: hand out the id first, so a client that times out and retries does not leave a ghost.
                // Ids handed out but not joined yet count against group.max.size with the members: a client
                // asking for new ids in a loop cannot grow the group's pending set without a bound.
                if (group.members.size() + group.pendingJoinMembers.size() >= config.groupMaxSize()) {
                    joinError(future, "", Errors.GROUP_MAX_SIZE_REACHED);
                    return;
                }
                group.pendingJoinMembers.put(newMemberId, nowMs + req.sessionTimeoutMs());
                joinError(future, newMemberId, Errors.MEMBER_ID_REQUIRED);
            } else {
                addMemberThenRebalanceOrCompleteJoin(group, req, newMemberId, clientId, clientHost, future, nowMs);
            }
        }
    }

    private void joinNewStaticMember(ClassicGroup group, JoinGroupRequestData req, short version, String clientId,
            String clientHost, String newMemberId, CompletableFuture<JoinGroupResponseData> future, long nowMs) {
        String oldMemberId = group.staticMembers.get(req.groupInstanceId());
        if (oldMemberId == null) {
            addMemberThenRebalanceOrCompleteJoin(group, req, newMemberId, clientId, clientHost, future, nowMs);
            return;
        }
        // KIP-345: the new incarnation replaces the old member id and keeps its assignment.
        GroupMember previous = group.member(oldMemberId);
        boolean sameMetadata = previous.matches(protocols(req));
        String selectedBefore = group.protocolName;
        GroupMember member = group.replaceStaticMember(req.groupInstanceId(), oldMemberId, newMemberId);
        member.sessionDeadlineMs = nowMs + req.sessionTimeoutMs();
        if (group.is(Stable.class)) {
            updateMember(group, member, req, null);
            boolean leader = group.isLeader(newMemberId);
            boolean canSkipAssignment = JoinGroupRequest.supportsSkippingAssignment(version);
            if (!sameMetadata || !group.selectProtocol().equals(selectedBefore)
                    || (leader && !canSkipAssignment)) {
                // The assignment may no longer fit (or an old leader must compute it): rebalance.
                updateMember(group, member, req, future);
                maybePrepareRebalanceOrCompleteJoin(group, nowMs);
            } else {
                outbox.add(group.snapshot()); // persist the new member id
                future.complete(currentGenerationResponse(group, member, leader && canSkipAssignment));
            }
        } else if (group.is(CompletingRebalance.class)) {
            updateMember(group, member, req, future);
            prepareRebalance(group, nowMs);
        } else if (group.is(PreparingRebalance.class)) {
            updateMember(group, member, req, future);
            maybeCompleteJoinPhase(group, nowMs);
        } else {
            throw new IllegalStateException("static member in group " + group.groupId + " in " + group.state);
        }
    }

    private void joinExistingMember(ClassicGroup group, JoinGroupRequestData req, short version, String clientId,
            String clientHost, CompletableFuture<JoinGroupResponseData> future, long nowMs) {
        String memberId = req.memberId();
        List<GroupMember.Protocol> protocols = protocols(req);
        if (group.is(Dead.class)) {
            joinError(future, memberId, Errors.COORDINATOR_NOT_AVAILABLE);
            return;
        }
        if (!group.supportsProtocols(req.protocolType(), protocols)) {
            joinError(future, memberId, Errors.INCONSISTENT_GROUP_PROTOCOL);
            return;
        }
        if (req.groupInstanceId() == null && group.pendingJoinMembers.containsKey(memberId)) {
            addMemberThenRebalanceOrCompleteJoin(group, req, memberId, clientId, clientHost, future, nowMs);
            return;
        }
        Errors error = validateMember(group, memberId, req.groupInstanceId());
        if (error != Errors.NONE) {
            joinError(future, memberId, error);
            return;
        }
        GroupMember member = group.member(memberId);
        if (group.is(PreparingRebalance.class)) {
            updateMember(group, member, req, future);
            maybePrepareRebalanceOrCompleteJoin(group, nowMs);
        } else if (group.is(CompletingRebalance.class)) {
            if (member.matches(protocols)) {
                // It missed its JoinGroup response: answer with the current generation again.
                future.complete(currentGenerationResponse(group, member, false));
            } else {
                updateMember(group, member, req, future);
                maybePrepareRebalanceOrCompleteJoin(group, nowMs);
            }
        } else if (group.is(Stable.class)) {
            if (group.isLeader(memberId) || !member.matches(protocols)) {
                // A rejoining leader forces a rebalance (e.g. topic metadata changed); so does new metadata.
                updateMember(group, member, req, future);
                maybePrepareRebalanceOrCompleteJoin(group, nowMs);
            } else {
                future.complete(currentGenerationResponse(group, member, false));
            }
        } else {
            joinError(future, memberId, Errors.UNKNOWN_MEMBER_ID);
        }
    }

    private void addMemberThenRebalanceOrCompleteJoin(ClassicGroup group, JoinGroupRequestData req, String memberId,
            String clientId, String clientHost, CompletableFuture<JoinGroupResponseData> future, long nowMs) {
        GroupMember member = new GroupMember(memberId, req.groupInstanceId(), clientId, clientHost,
                req.protocolType(), rebalanceTimeoutMs(req), req.sessionTimeoutMs(), protocols(req));
        member.isNew = true;
        if (group.state instanceof PreparingRebalance p && p.initial()) {
            group.newMemberAdded = true;
        }
        group.add(member, future);
        // A new member cannot heartbeat before its first JoinGroup response; bound how long it may linger.
        member.sessionDeadlineMs = nowMs + config.newMemberJoinTimeoutMs();
        maybePrepareRebalanceOrCompleteJoin(group, nowMs);
    }

    private void updateMember(ClassicGroup group, GroupMember member, JoinGroupRequestData req,
            CompletableFuture<JoinGroupResponseData> future) {
        member.protocols = protocols(req);
        member.rebalanceTimeoutMs = rebalanceTimeoutMs(req);
        member.sessionTimeoutMs = req.sessionTimeoutMs();
        if (future != null && member.joinFuture != null && member.joinFuture != future) {
            // A retried JoinGroup supersedes the earlier one; answer that one rather than leave it hanging.
            ClassicGroup.completeJoin(member, new JoinGroupResponseData().setMemberId(member.memberId)
                    .setErrorCode(Errors.REBALANCE_IN_PROGRESS.code()));
        }
        if (future != null) {
            member.joinFuture = future;
        }
    }

    private void maybePrepareRebalanceOrCompleteJoin(ClassicGroup group, long nowMs) {
        if (group.state.canRebalance()) {
            prepareRebalance(group, nowMs);
        } else {
            maybeCompleteJoinPhase(group, nowMs);
        }
    }

    private void prepareRebalance(ClassicGroup group, long nowMs) {
        if (group.is(CompletingRebalance.class)) {
            // Members waiting for the assignment must rejoin instead.
            for (GroupMember m : group.members.values()) {
                m.assignment = GroupMember.NO_BYTES;
                ClassicGroup.completeSync(m, new SyncGroupResponseData()
                        .setErrorCode(Errors.REBALANCE_IN_PROGRESS.code()));
            }
        }
        if (group.is(Empty.class)) {
            int delayMs = config.initialRebalanceDelayMs();
            int remainingMs = Math.max(group.rebalanceTimeoutMs() - delayMs, 0);
            group.transitionTo(new PreparingRebalance(nowMs + delayMs, true, delayMs, remainingMs), nowMs);
        } else {
            group.transitionTo(new PreparingRebalance(nowMs + group.rebalanceTimeoutMs(), false, 0, 0), nowMs);
            maybeCompleteJoinPhase(group, nowMs);
        }
    }

    private void maybeCompleteJoinPhase(ClassicGroup group, long nowMs) {
        if (group.state instanceof PreparingRebalance p && !p.initial() && group.hasAllMembersJoined()) {
            completeJoinPhase(group, nowMs);
        }
    }

    void fireJoinDeadlineIfDue(ClassicGroup group, long nowMs) {
        if (!(group.state instanceof PreparingRebalance p) || nowMs < p.joinDeadlineMs()) {
            return;
        }
        if (p.initial() && group.newMemberAdded && p.initialRemainingMs() != 0) {
            // Kafka's tryCompleteInitialRebalanceElseSchedule: more members are arriving, wait a little longer.
            group.newMemberAdded = false;
            int delayMs = Math.min(config.initialRebalanceDelayMs(), p.initialRemainingMs());
            int remainingMs = Math.max(p.initialRemainingMs() - p.initialDelayMs(), 0);
            group.state = new PreparingRebalance(nowMs + delayMs, true, delayMs, remainingMs);
        } else {
            completeJoinPhase(group, nowMs);
        }
    }

    private void completeJoinPhase(ClassicGroup group, long nowMs) {
        // Dynamic members that did not rejoin in time are gone; static ones keep their place (KIP-345).
        for (GroupMember m : new ArrayList<>(group.members.values())) {
            if (!m.awaitingJoin() && !m.isStatic()) {
                group.remove(m.memberId, Errors.UNKNOWN_MEMBER_ID);
            }
        }
        if (!electJoinedLeader(group) && !group.members.isEmpty()) {
            // Nobody rejoined: wait another rebalance timeout for sessions to expire the silent members.
            group.state = new PreparingRebalance(nowMs + group.rebalanceTimeoutMs(), false, 0, 0);
            return;
        }
        group.generation++;
        group.pendingSyncMembers.clear();
        if (group.members.isEmpty()) {
            group.protocolName = null;
            group.subscribedTopics = group.computeSubscribedTopics();
            group.transitionTo(new Empty(), nowMs);
            outbox.add(group.snapshot());
            return;
        }
        group.protocolName = group.selectProtocol();
        group.subscribedTopics = group.computeSubscribedTopics();
        group.transitionTo(new CompletingRebalance(nowMs + group.rebalanceTimeoutMs()), nowMs);
        for (GroupMember m : group.members.values()) {
            ClassicGroup.completeJoin(m, new JoinGroupResponseData()
                    .setMembers(group.isLeader(m.memberId) ? group.joinResponseMembers() : new ArrayList<>())
                    .setMemberId(m.memberId)
                    .setGenerationId(group.generation)
                    .setProtocolType(group.protocolType)
                    .setProtocolName(group.protocolName)
                    .setLeader(group.leaderId)
                    .setSkipAssignment(false));
            m.sessionDeadlineMs = nowMs + m.sessionTimeoutMs;
            m.isNew = false;
            group.pendingSyncMembers.add(m.memberId);
        }
    }

    /** Kafka's maybeElectNewJoinedLeader: keep the leader if it rejoined, else the first member that did. */
    private static boolean electJoinedLeader(ClassicGroup group) {
        if (group.leaderId == null) {
            return false;
        }
        if (group.member(group.leaderId).awaitingJoin()) {
            return true;
        }
        for (GroupMember m : group.members.values()) {
            if (m.awaitingJoin()) {
                group.leaderId = m.memberId;
                return true;
            }
        }
        return false;
    }

    // ---- SyncGroup ----

    CompletableFuture<SyncGroupResponseData> syncGroup(SyncGroupRequestData req, short version, long nowMs) {
        CompletableFuture<SyncGroupResponseData> future = new CompletableFuture<>();
        ClassicGroup group = groups.get(req.groupId());
        Errors error = group == null ? Errors.UNKNOWN_MEMBER_ID
                : group.is(Dead.class) ? Errors.COORDINATOR_NOT_AVAILABLE
                : validateMember(group, req.memberId(), req.groupInstanceId());
        if (error == Errors.NONE && req.generationId() != group.generation) {
            error = Errors.ILLEGAL_GENERATION;
        }
        // v5+ carry the protocol type and name; older versions leave them null.
        if (error == Errors.NONE && ((req.protocolType() != null && !req.protocolType().equals(group.protocolType))
                || (req.protocolName() != null && !req.protocolName().equals(group.protocolName)))) {
            error = Errors.INCONSISTENT_GROUP_PROTOCOL;
        }
        if (error == Errors.NONE && group.is(PreparingRebalance.class)) {
            error = Errors.REBALANCE_IN_PROGRESS;
        }
        if (error != Errors.NONE) {
            future.complete(new SyncGroupResponseData().setErrorCode(error.code()));
            return future;
        }
        GroupMember member = group.member(req.memberId());
        group.pendingSyncMembers.remove(member.memberId);
        if (group.state instanceof CompletingRebalance c) {
            ClassicGroup.completeSync(member, new SyncGroupResponseData()
                    .setErrorCode(Errors.REBALANCE_IN_PROGRESS.code())); // a superseded retry
            member.syncFuture = future;
            if (group.isLeader(member.memberId)) {
                Map<String, byte[]> assignments = new HashMap<>();
                req.assignments().forEach(a -> assignments.put(a.memberId(), a.assignment()));
                for (GroupMember m : group.members.values()) {
                    m.assignment = assignments.getOrDefault(m.memberId, GroupMember.NO_BYTES);
                }
                long syncDeadlineMs = group.pendingSyncMembers.isEmpty() ? Long.MAX_VALUE : c.syncDeadlineMs();
                group.transitionTo(new Stable(syncDeadlineMs), nowMs);
                outbox.add(group.snapshot());
                for (GroupMember m : group.members.values()) {
                    if (m.awaitingSync()) {
                        ClassicGroup.completeSync(m, syncResponse(group, m));
                        m.sessionDeadlineMs = nowMs + m.sessionTimeoutMs;
                    }
                }
            }
        } else if (group.state instanceof Stable) {
            future.complete(syncResponse(group, member));
            member.sessionDeadlineMs = nowMs + member.sessionTimeoutMs;
            if (group.pendingSyncMembers.isEmpty()) {
                group.state = new Stable(Long.MAX_VALUE);
            }
        } else {
            throw new IllegalStateException("member " + member.memberId + " in group state " + group.state);
        }
        return future;
    }

    private static SyncGroupResponseData syncResponse(ClassicGroup group, GroupMember m) {
        return new SyncGroupResponseData().setProtocolType(group.protocolType).setProtocolName(group.protocolName)
                .setAssignment(m.assignment);
    }

    // ---- Heartbeat ----

    HeartbeatResponseData heartbeat(HeartbeatRequestData req, long nowMs) {
        ClassicGroup group = groups.get(req.groupId());
        Errors error = group == null ? Errors.UNKNOWN_MEMBER_ID
                : group.is(Dead.class) ? Errors.COORDINATOR_NOT_AVAILABLE
                : validateMember(group, req.memberId(), req.groupInstanceId());
        if (error == Errors.NONE && req.generationId() != group.generation) {
            error = Errors.ILLEGAL_GENERATION;
        }
        if (error == Errors.NONE) {
            group.member(req.memberId()).sessionDeadlineMs = nowMs + group.member(req.memberId()).sessionTimeoutMs;
            if (group.is(PreparingRebalance.class)) {
                error = Errors.REBALANCE_IN_PROGRESS; // so that the member rejoins
            }
        }
        return new HeartbeatResponseData().setErrorCode(error.code());
    }

    // ---- LeaveGroup ----

    LeaveGroupResponseData leaveGroup(LeaveGroupRequestData req, short version, long nowMs) {
        List<LeaveGroupRequestData.MemberIdentity> leaving = version <= 2
                ? List.of(new LeaveGroupRequestData.MemberIdentity().setMemberId(req.memberId()))
                : req.members();
        ClassicGroup group = groups.get(req.groupId());
        Errors groupError = group == null ? Errors.UNKNOWN_MEMBER_ID
                : group.is(Dead.class) ? Errors.COORDINATOR_NOT_AVAILABLE : Errors.NONE;
        List<LeaveGroupResponseData.MemberResponse> responses = new ArrayList<>();
        for (LeaveGroupRequestData.MemberIdentity identity : leaving) {
            Errors error = groupError != Errors.NONE ? groupError : leave(group, identity, nowMs);
            responses.add(new LeaveGroupResponseData.MemberResponse().setMemberId(identity.memberId())
                    .setGroupInstanceId(identity.groupInstanceId()).setErrorCode(error.code()));
        }
        if (version <= 2) {
            return new LeaveGroupResponseData().setErrorCode(responses.get(0).errorCode());
        }
        return new LeaveGroupResponseData().setErrorCode(groupError.code()).setMembers(responses);
    }

    private Errors leave(ClassicGroup group, LeaveGroupRequestData.MemberIdentity identity, long nowMs) {
        String memberId = identity.memberId() == null ? "" : identity.memberId();
        String instanceId = identity.groupInstanceId();
        if (instanceId != null) {
            String existing = group.staticMembers.get(instanceId);
            if (existing == null) {
                return Errors.UNKNOWN_MEMBER_ID;
            }
            if (!memberId.isEmpty() && !memberId.equals(existing)) {
                return Errors.FENCED_INSTANCE_ID;
            }
            memberId = existing;
        } else if (group.pendingJoinMembers.containsKey(memberId)) {
            group.pendingJoinMembers.remove(memberId);
            maybeCompleteJoinPhase(group, nowMs);
            return Errors.NONE;
        } else if (!group.hasMember(memberId)) {
            return Errors.UNKNOWN_MEMBER_ID;
        }
        removeMemberAndUpdateGroup(group, memberId, Errors.UNKNOWN_MEMBER_ID, nowMs);
        return Errors.NONE;
    }

    // ---- timers ----

    /** Expires pending members, sessions, join and sync deadlines of one group. */
    void tick(ClassicGroup group, long nowMs) {
        for (Map.Entry<String, Long> pending : new ArrayList<>(group.pendingJoinMembers.entrySet())) {
            if (nowMs >= pending.getValue()) {
                group.pendingJoinMembers.remove(pending.getKey());
                maybeCompleteJoinPhase(group, nowMs);
            }
        }
        for (GroupMember m : new ArrayList<>(group.members.values())) {
            if (group.hasMember(m.memberId) && nowMs >= m.sessionDeadlineMs && !m.sessionExempt()) {
                removeMemberAndUpdateGroup(group, m.memberId, Errors.UNKNOWN_MEMBER_ID, nowMs);
            }
        }
        fireJoinDeadlineIfDue(group, nowMs);
        long syncDeadlineMs = group.state instanceof CompletingRebalance c ? c.syncDeadlineMs()
                : group.state instanceof Stable s ? s.syncDeadlineMs() : Long.MAX_VALUE;
        if (nowMs >= syncDeadlineMs) {
            // Members that got a generation but never synced are gone; the others rebalance without them.
            for (String memberId : new ArrayList<>(group.pendingSyncMembers)) {
                group.remove(memberId, Errors.UNKNOWN_MEMBER_ID);
            }
            if (group.is(Stable.class)) {
                group.state = new Stable(Long.MAX_VALUE);
            }
            prepareRebalance(group, nowMs);
        }
    }

    /** Kafka's removeMemberAndUpdateClassicGroup. */
    private void removeMemberAndUpdateGroup(ClassicGroup group, String memberId, Errors error, long nowMs) {
        group.remove(memberId, error);
        if (group.is(Stable.class) || group.is(CompletingRebalance.class)) {
            prepareRebalance(group, nowMs);
        } else if (group.is(PreparingRebalance.class)) {
            maybeCompleteJoinPhase(group, nowMs);
        }
    }

    // ---- helpers ----

    /** Kafka's validateMember: a static member's instance id must map to this member id. */
    static Errors validateMember(ClassicGroup group, String memberId, String groupInstanceId) {
        if (groupInstanceId != null) {
            String existing = group.staticMembers.get(groupInstanceId);
            if (existing == null) {
                return Errors.UNKNOWN_MEMBER_ID;
            }
            if (!existing.equals(memberId)) {
                return Errors.FENCED_INSTANCE_ID;
            }
        }
        return group.hasMember(memberId) ? Errors.NONE : Errors.UNKNOWN_MEMBER_ID;
    }

    private JoinGroupResponseData currentGenerationResponse(ClassicGroup group, GroupMember member,
            boolean leaderSkipsAssignment) {
        boolean withMembers = group.isLeader(member.memberId) && (leaderSkipsAssignment
                || group.is(CompletingRebalance.class));
        return new JoinGroupResponseData()
                .setMembers(withMembers ? group.joinResponseMembers() : new ArrayList<>())
                .setMemberId(member.memberId)
                .setGenerationId(group.generation)
                .setProtocolType(group.protocolType)
                .setProtocolName(group.protocolName)
                .setLeader(group.leaderId)
                .setSkipAssignment(leaderSkipsAssignment);
    }

    private String newMemberId(ClassicGroup group, String prefix) {
        for (int attempt = 0; attempt < 16; attempt++) {
            String id = prefix + "-" + uniqueIds.get();
            if (!group.hasMember(id) && !group.pendingJoinMembers.containsKey(id)) {
                return id;
            }
        }
        throw new IllegalStateException("member id supplier keeps returning ids in use in group " + group.groupId);
    }

    private static CompletableFuture<JoinGroupResponseData> joinError(CompletableFuture<JoinGroupResponseData> future,
            String memberId, Errors error) {
        future.complete(new JoinGroupResponseData().setMemberId(memberId).setLeader("").setErrorCode(error.code()));
        return future;
    }

    private static int rebalanceTimeoutMs(JoinGroupRequestData req) {
        // JoinGroup v0 has no rebalance timeout: Kafka uses the session timeout.
        return req.rebalanceTimeoutMs() < 0 ? req.sessionTimeoutMs() : req.rebalanceTimeoutMs();
    }

    private static List<GroupMember.Protocol> protocols(JoinGroupRequestData req) {
        List<GroupMember.Protocol> list = new ArrayList<>();
        req.protocols().forEach(p -> list.add(new GroupMember.Protocol(p.name(), p.metadata())));
        return list;
    }
}
