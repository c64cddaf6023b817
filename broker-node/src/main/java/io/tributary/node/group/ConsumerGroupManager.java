package io.tributary.node.group;

import com.google.re2j.Pattern;
import com.google.re2j.PatternSyntaxException;
import io.tributary.node.group.ConsumerGroup.Member;
import io.tributary.node.group.ConsumerGroupRecord.CurrentAssignment;
import io.tributary.node.group.ConsumerGroupRecord.CurrentMemberAssignment;
import io.tributary.node.group.ConsumerGroupRecord.GroupEpoch;
import io.tributary.node.group.ConsumerGroupRecord.MemberMetadata;
import io.tributary.node.group.ConsumerGroupRecord.MemberState;
import io.tributary.node.group.ConsumerGroupRecord.MemberSubscription;
import io.tributary.node.group.ConsumerGroupRecord.SubscriptionMetadata;
import io.tributary.node.group.ConsumerGroupRecord.TargetAssignmentEpoch;
import io.tributary.node.group.ConsumerGroupRecord.TargetAssignmentMember;
import io.tributary.node.group.ConsumerGroupRecord.TopicMetadata;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.ConsumerGroupHeartbeatRequestData;
import org.apache.kafka.common.message.ConsumerGroupHeartbeatResponseData;
import org.apache.kafka.common.protocol.Errors;

/**
 * KIP-848 consumer groups: ConsumerGroupHeartbeat (join, heartbeat, leave), session and rebalance timeouts, and the
 * member/epoch checks of offset commits and fetches, following Kafka's GroupMetadataManager and
 * CurrentAssignmentBuilder. Called only by {@link GroupCoordinator}, on its thread; deterministic (time comes in as
 * {@code nowMs}, server-made member ids from the injected supplier).
 *
 * <p>Each decision is a list of {@link ConsumerGroupRecord}s, applied at once through {@link #replay} (so a
 * coordinator that loads them rebuilds exactly this state) and queued in the outbox for the driver to append before
 * it answers. The protocol, per heartbeat of a member:
 * <ol>
 *   <li>A new member, or a changed subscription, or a change in the subscribed topics' partitions bumps the group
 *       epoch.</li>
 *   <li>A group epoch ahead of the target assignment's runs the group's assignor: a new target assignment at the
 *       group epoch.</li>
 *   <li>The member reconciles towards its target (revoke before assign): it first keeps only the partitions of its
 *       target it holds and must revoke the rest (state UNREVOKED_PARTITIONS, epoch unchanged); once its heartbeat
 *       no longer lists them, it moves to the target epoch and gets the target partitions that no other member holds
 *       (those still held wait: UNRELEASED_PARTITIONS) until it has them all (STABLE).</li>
 * </ol>
 * A partition is thus held by at most one member at a time: by its holder until that member's heartbeat shows it
 * gone (or the member is removed), only then by the next.
 */
final class ConsumerGroupManager {

    static final int LEAVE_GROUP_MEMBER_EPOCH = -1;
    static final int LEAVE_GROUP_STATIC_MEMBER_EPOCH = -2;
    /** Rebalance timeout of a member restored from a record without one (Kafka's consumer default). */
    private static final int DEFAULT_REBALANCE_TIMEOUT_MS = 300_000;
    /** Ours (Kafka has none): a regex subscription longer than this is refused. */
    static final int MAX_REGEX_LENGTH = 1000;
    private static final int MAX_CACHED_REGEXES = 1000;
    /** Kafka leaves internal topics out of regex subscriptions. */
    private static final Set<String> INTERNAL_TOPICS = Set.of(GroupService.TOPIC, "__transaction_state",
            "__share_group_state");

    /** An error answer to a heartbeat; thrown before anything is changed. */
    private static final class Refused extends RuntimeException {
        final Errors error;

        Refused(Errors error, String message) {
            super(message, null, false, false);
            this.error = error;
        }
    }

    private final ConsumerGroupConfig config;
    private final Map<String, ConsumerGroup> groups = new LinkedHashMap<>();
    private final List<GroupRecord> outbox;
    private final Supplier<String> uniqueIds;
    /** Whether a classic group of that id has members: it cannot become a consumer group. */
    private final Predicate<String> classicGroupInUse;
    /** Regex -> the topic names it matches in {@link #regexCacheFor}, the cluster's topics it was computed for. */
    private final Map<String, Set<String>> regexCache = new HashMap<>();
    private Object regexCacheFor;

    ConsumerGroupManager(ConsumerGroupConfig config, List<GroupRecord> outbox, Supplier<String> uniqueIds,
            Predicate<String> classicGroupInUse) {
        this.config = Objects.requireNonNull(config);
        this.outbox = outbox;
        this.uniqueIds = uniqueIds;
        this.classicGroupInUse = classicGroupInUse;
    }

    ConsumerGroup group(String groupId) {
        return groups.get(groupId);
    }

    Iterable<ConsumerGroup> groups() {
        return groups.values();
    }

    int heartbeatIntervalMs() {
        return config.heartbeatIntervalMs();
    }

    ConsumerGroupConfig config() {
        return config;
    }

    // ---- ConsumerGroupHeartbeat ----

    ConsumerGroupHeartbeatResponseData heartbeat(ConsumerGroupHeartbeatRequestData req, short version,
            String clientId, String clientHost, ClusterTopics topics, long nowMs) {
        try {
            validate(req, version);
            if (req.memberEpoch() == LEAVE_GROUP_MEMBER_EPOCH || req.memberEpoch() == LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
                return leave(req, nowMs);
            }
            return joinOrHeartbeat(req, clientId, clientHost, topics, nowMs);
        } catch (Refused e) {
            return new ConsumerGroupHeartbeatResponseData().setErrorCode(e.error.code()).setErrorMessage(e.getMessage());
        }
    }

    /** Kafka's throwIfConsumerGroupHeartbeatRequestIsInvalid. */
    private void validate(ConsumerGroupHeartbeatRequestData req, short version) {
        if (req.groupId() == null || req.groupId().isEmpty()) {
            throw invalid("GroupId can't be empty.");
        }
        if ("".equals(req.instanceId())) {
            throw invalid("InstanceId can't be empty.");
        }
        if ("".equals(req.rackId())) {
            throw invalid("RackId can't be empty.");
        }
        if (req.subscribedTopicRegex() != null && !req.subscribedTopicRegex().isEmpty()) {
            if (req.subscribedTopicRegex().length() > MAX_REGEX_LENGTH) {
                throw new Refused(Errors.INVALID_REGULAR_EXPRESSION, "SubscribedTopicRegex is longer than "
                        + MAX_REGEX_LENGTH + " characters.");
            }
            try {
                Pattern.compile(req.subscribedTopicRegex());
            } catch (PatternSyntaxException e) {
                throw new Refused(Errors.INVALID_REGULAR_EXPRESSION, "SubscribedTopicRegex `"
                        + req.subscribedTopicRegex() + "` is not a valid regular expression: " + e.getMessage() + ".");
            }
        }
        boolean noMemberId = req.memberId() == null || req.memberId().isEmpty();
        if (version >= 1 && noMemberId) {
            throw invalid("MemberId can't be empty.");
        }
        int epoch = req.memberEpoch();
        if (epoch > 0 || epoch == LEAVE_GROUP_MEMBER_EPOCH) {
            if (noMemberId) {
                throw invalid("MemberId can't be empty.");
            }
        } else if (epoch == 0) {
            if (req.rebalanceTimeoutMs() == -1) {
                throw invalid("RebalanceTimeoutMs must be provided in first request.");
            }
            if (req.topicPartitions() == null || !req.topicPartitions().isEmpty()) {
                throw invalid("TopicPartitions must be empty when (re-)joining.");
            }
            if (req.subscribedTopicNames() == null && req.subscribedTopicRegex() == null) {
                throw invalid("Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when "
                        + "(re-)joining.");
            }
        } else if (epoch == LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
            if (noMemberId) {
                throw invalid("MemberId can't be empty.");
            }
            if (req.instanceId() == null) {
                throw invalid("InstanceId can't be null.");
            }
        } else {
            throw invalid("MemberEpoch is invalid.");
        }
        if (req.serverAssignor() != null && !config.assignors().contains(req.serverAssignor())) {
            throw new Refused(Errors.UNSUPPORTED_ASSIGNOR, "ServerAssignor " + req.serverAssignor()
                    + " is not supported. Supported assignors: " + String.join(", ", config.assignors()) + ".");
        }
        if (req.subscribedTopicNames() != null && req.subscribedTopicNames().size() > 10_000) {
            throw invalid("SubscribedTopicNames has more than 10000 topics.");
        }
    }

    private static Refused invalid(String message) {
        return new Refused(Errors.INVALID_REQUEST, message);
    }

    private ConsumerGroupHeartbeatResponseData joinOrHeartbeat(ConsumerGroupHeartbeatRequestData req,
            String clientId, String clientHost, ClusterTopics topics, long nowMs) {
        String groupId = req.groupId();
        int epoch = req.memberEpoch();
        ConsumerGroup group = groups.get(groupId);
        if (group == null) {
            if (epoch != 0) {
                throw new Refused(Errors.UNKNOWN_MEMBER_ID, "Group " + groupId + " has no member "
                        + req.memberId() + ".");
            }
            if (classicGroupInUse.test(groupId)) {
                throw new Refused(Errors.GROUP_ID_NOT_FOUND, "Group " + groupId + " is not a consumer group.");
            }
        }
        String memberId = req.memberId() == null || req.memberId().isEmpty() ? uniqueIds.get() : req.memberId();
        Member member = group == null ? null : group.members.get(memberId);
        if (group != null && member == null && group.members.size() >= config.maxSize()) {
            throw new Refused(Errors.GROUP_MAX_SIZE_REACHED, "The consumer group has reached its maximum capacity of "
                    + config.maxSize() + " members.");
        }
        Member replacedStatic = null;
        if (epoch == 0) {
            Member holder = group == null || req.instanceId() == null ? null : group.staticMember(req.instanceId());
            if (holder != null && !holder.memberId.equals(memberId)) {
                if (holder.memberEpoch() != LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
                    throw new Refused(Errors.UNRELEASED_INSTANCE_ID, "Static member " + holder.memberId
                            + " with instance id " + req.instanceId() + " is still in the group.");
                }
                replacedStatic = holder;
            }
        } else {
            if (member == null) {
                throw new Refused(Errors.UNKNOWN_MEMBER_ID, "Member " + memberId + " is not in group " + groupId
                        + ".");
            }
            if (req.instanceId() != null && !req.instanceId().equals(member.instanceId())) {
                throw new Refused(Errors.FENCED_INSTANCE_ID, "Instance id " + req.instanceId()
                        + " does not belong to member " + memberId + ".");
            }
            checkMemberEpoch(member, epoch, req.topicPartitions());
        }

        // Decided: from here on the state changes.
        List<GroupRecord> records = outbox;
        SortedMap<Uuid, SortedSet<Integer>> inheritedTarget = null;
        if (member != null && epoch == 0) {
            // A member rejoining after it was fenced (or lost its answer) gave up every partition: start afresh.
            removeMember(records, group, member, nowMs);
            member = null;
        }
        if (replacedStatic != null) {
            // KIP-345 with KIP-848: the static member's new incarnation takes its place and, sticky, its partitions.
            inheritedTarget = group.target(replacedStatic.memberId);
            removeMember(records, group, replacedStatic, nowMs);
        }
        MemberSubscription old = member == null ? null : member.subscription;
        MemberSubscription next = nextSubscription(req, old, clientId, clientHost);
        boolean bump = old == null || !old.subscribedTopicNames().equals(next.subscribedTopicNames())
                || !Objects.equals(old.subscribedTopicRegex(), next.subscribedTopicRegex());
        if (!next.equals(old)) {
            emit(records, new MemberMetadata(groupId, memberId, next), nowMs);
        }
        group = groups.get(groupId);
        member = group.members.get(memberId);
        CurrentAssignment before = member.current;
        member.sessionDeadlineMs = nowMs + config.sessionTimeoutMs();

        List<TopicMetadata> metadata = subscriptionMetadata(group, topics);
        if (!metadata.equals(group.subscriptionMetadata)) {
            emit(records, new SubscriptionMetadata(groupId, metadata), nowMs);
            bump = true;
        }
        if (bump) {
            emit(records, new GroupEpoch(groupId, group.groupEpoch + 1), nowMs);
        }
        if (group.groupEpoch > group.assignmentEpoch) {
            updateTargetAssignment(records, group, memberId, inheritedTarget, nowMs);
        }
        reconcile(records, group, member, req.topicPartitions(), nowMs);

        ConsumerGroupHeartbeatResponseData response = new ConsumerGroupHeartbeatResponseData()
                .setMemberId(memberId).setMemberEpoch(member.memberEpoch())
                .setHeartbeatIntervalMs(config.heartbeatIntervalMs());
        boolean fullRequest = epoch == 0 || (req.rebalanceTimeoutMs() != -1 && req.subscribedTopicNames() != null
                && req.topicPartitions() != null);
        if (fullRequest || !before.assignedPartitions().equals(member.current.assignedPartitions())) {
            response.setAssignment(assignment(member.current.assignedPartitions()));
        }
        return response;
    }

    /** Kafka's throwIfConsumerGroupMemberEpochIsInvalid. */
    private static void checkMemberEpoch(Member member, int received,
            List<ConsumerGroupHeartbeatRequestData.TopicPartitions> owned) {
        if (received > member.memberEpoch()) {
            throw new Refused(Errors.FENCED_MEMBER_EPOCH, "The consumer group member has a greater member epoch ("
                    + received + ") than the one known by the group coordinator (" + member.memberEpoch()
                    + "). The member must abandon all its partitions and rejoin.");
        }
        if (received < member.memberEpoch() && (received != member.current.previousMemberEpoch()
                || !isSubset(owned, member.current.assignedPartitions()))) {
            throw new Refused(Errors.FENCED_MEMBER_EPOCH, "The consumer group member has a smaller member epoch ("
                    + received + ") than the one known by the group coordinator (" + member.memberEpoch()
                    + "). The member must abandon all its partitions and rejoin.");
        }
    }

    private static boolean isSubset(List<ConsumerGroupHeartbeatRequestData.TopicPartitions> owned,
            SortedMap<Uuid, SortedSet<Integer>> assigned) {
        if (owned == null) {
            return false;
        }
        for (ConsumerGroupHeartbeatRequestData.TopicPartitions tp : owned) {
            Set<Integer> partitions = assigned.get(tp.topicId());
            if (partitions == null && !tp.partitions().isEmpty()) {
                return false;
            }
            for (int p : tp.partitions()) {
                if (!partitions.contains(p)) {
                    return false;
                }
            }
        }
        return true;
    }

    private static MemberSubscription nextSubscription(ConsumerGroupHeartbeatRequestData req, MemberSubscription old,
            String clientId, String clientHost) {
        List<String> topics = req.subscribedTopicNames() != null
                ? List.copyOf(new TreeSet<>(req.subscribedTopicNames())) : old == null ? List.of()
                : old.subscribedTopicNames();
        String regex = req.subscribedTopicRegex() != null
                ? (req.subscribedTopicRegex().isEmpty() ? null : req.subscribedTopicRegex()) // "": no regex any more
                : old == null ? null : old.subscribedTopicRegex();
        return new MemberSubscription(
                req.instanceId() != null ? req.instanceId() : old == null ? null : old.instanceId(),
                req.rackId() != null ? req.rackId() : old == null ? null : old.rackId(),
                clientId == null ? "" : clientId, clientHost == null ? "" : clientHost, topics, regex,
                req.rebalanceTimeoutMs() != -1 ? req.rebalanceTimeoutMs() : old.rebalanceTimeoutMs(),
                req.serverAssignor() != null ? req.serverAssignor() : old == null ? null : old.serverAssignor());
    }

    /**
     * The subscribed topics that exist, by name: what the target assignment is computed for. Resolves the members'
     * regexes against the cluster's topics first (kept in the group until the next heartbeat).
     */
    private List<TopicMetadata> subscriptionMetadata(ConsumerGroup group, ClusterTopics topics) {
        group.regexMatches.clear();
        for (Member m : group.members.values()) {
            String regex = m.subscription.subscribedTopicRegex();
            if (regex != null) {
                group.regexMatches.put(regex, matches(regex, topics));
            }
        }
        Set<String> names = new TreeSet<>(subscribedTopics(group));
        List<TopicMetadata> out = new ArrayList<>();
        for (String name : names) {
            TopicMetadata t = topics.byName(name);
            if (t != null) {
                out.add(t);
            }
        }
        return out;
    }

    /** Every topic name a member of the group subscribes to, by name or by a regex as last resolved. */
    static Set<String> subscribedTopics(ConsumerGroup group) {
        Set<String> names = new HashSet<>();
        group.members.values().forEach(m -> names.addAll(subscribedTopics(group, m)));
        return names;
    }

    private static Set<String> subscribedTopics(ConsumerGroup group, Member m) {
        String regex = m.subscription.subscribedTopicRegex();
        if (regex == null) {
            return new HashSet<>(m.subscription.subscribedTopicNames());
        }
        Set<String> names = new HashSet<>(m.subscription.subscribedTopicNames());
        names.addAll(group.regexMatches.getOrDefault(regex, Set.of()));
        return names;
    }

    /**
     * The topics whose whole name matches {@code regex} (RE2J syntax, as Kafka), internal topics left out. Cached
     * per regex while the cluster's topics stay the same object, at most {@value #MAX_CACHED_REGEXES} regexes.
     */
    private Set<String> matches(String regex, ClusterTopics topics) {
        Set<String> names = topics.names();
        if (names != regexCacheFor || regexCache.size() >= MAX_CACHED_REGEXES) {
            regexCache.clear();
            regexCacheFor = names;
        }
        return regexCache.computeIfAbsent(regex, r -> {
            Pattern pattern = Pattern.compile(r);
            Set<String> matched = new TreeSet<>();
            for (String name : names) {
                if (!INTERNAL_TOPICS.contains(name) && pattern.matches(name)) {
                    matched.add(name);
                }
            }
            return Set.copyOf(matched);
        });
    }

    /** The assignor most members name, else the configured default (Kafka's computePreferredServerAssignor). */
    private ConsumerGroupAssignor assignor(ConsumerGroup group) {
        return ConsumerGroupAssignor.named(preferredAssignor(group, config.assignors()));
    }

    /** The name of the configured assignor most members name (ties: the first by name), else the first configured. */
    static String preferredAssignor(ConsumerGroup group, List<String> assignors) {
        Map<String, Integer> votes = new TreeMap<>();
        group.members.values().forEach(m -> {
            if (m.subscription.serverAssignor() != null && assignors.contains(m.subscription.serverAssignor())) {
                votes.merge(m.subscription.serverAssignor(), 1, Integer::sum);
            }
        });
        String name = assignors.get(0);
        int best = 0;
        for (Map.Entry<String, Integer> e : votes.entrySet()) {
            if (e.getValue() > best) {
                name = e.getKey();
                best = e.getValue();
            }
        }
        return name;
    }

    private void updateTargetAssignment(List<GroupRecord> records, ConsumerGroup group, String memberId,
            SortedMap<Uuid, SortedSet<Integer>> inheritedTarget, long nowMs) {
        Map<String, Uuid> ids = new HashMap<>();
        Map<Uuid, Integer> counts = new HashMap<>();
        group.subscriptionMetadata.forEach(t -> {
            ids.put(t.topicName(), t.topicId());
            counts.put(t.topicId(), t.numPartitions());
        });
        SortedMap<String, Set<Uuid>> subscriptions = new TreeMap<>();
        group.members.values().forEach(m -> {
            Set<Uuid> subscribed = new HashSet<>();
            subscribedTopics(group, m).forEach(n -> {
                if (ids.containsKey(n)) {
                    subscribed.add(ids.get(n));
                }
            });
            subscriptions.put(m.memberId, subscribed);
        });
        Map<String, SortedMap<Uuid, SortedSet<Integer>>> previous = new HashMap<>(group.targetAssignment);
        if (inheritedTarget != null) {
            previous.put(memberId, inheritedTarget);
        }
        Map<String, SortedMap<Uuid, SortedSet<Integer>>> target = assignor(group).assign(subscriptions, counts,
                previous);
        for (Member m : group.members.values()) {
            SortedMap<Uuid, SortedSet<Integer>> next = target.getOrDefault(m.memberId, new TreeMap<>());
            if (!next.equals(group.target(m.memberId)) || !group.targetAssignment.containsKey(m.memberId)) {
                emit(records, new TargetAssignmentMember(group.groupId, m.memberId, next), nowMs);
            }
        }
        emit(records, new TargetAssignmentEpoch(group.groupId, group.groupEpoch), nowMs);
    }

    // ---- reconciliation (Kafka's CurrentAssignmentBuilder) ----

    private void reconcile(List<GroupRecord> records, ConsumerGroup group, Member member,
            List<ConsumerGroupHeartbeatRequestData.TopicPartitions> owned, long nowMs) {
        CurrentAssignment current = member.current;
        CurrentAssignment next = switch (current.state()) {
            case STABLE -> current.memberEpoch() != group.assignmentEpoch
                    ? nextAssignment(group, member, current.memberEpoch(), current.assignedPartitions(), owned)
                    : current;
            case UNREVOKED_PARTITIONS -> ownsAny(owned, current.partitionsPendingRevocation()) ? current
                    : nextAssignment(group, member, current.memberEpoch() + 1, current.assignedPartitions(), owned);
            case UNRELEASED_PARTITIONS -> nextAssignment(group, member, current.memberEpoch(),
                    current.assignedPartitions(), owned);
        };
        if (next.equals(current)) {
            return;
        }
        emit(records, new CurrentMemberAssignment(group.groupId, member.memberId, next), nowMs);
        if (next.state() != MemberState.UNREVOKED_PARTITIONS) {
            member.rebalanceDeadlineMs = Long.MAX_VALUE;
        } else if (current.state() != MemberState.UNREVOKED_PARTITIONS
                || !current.partitionsPendingRevocation().equals(next.partitionsPendingRevocation())) {
            member.rebalanceDeadlineMs = nowMs + member.subscription.rebalanceTimeoutMs();
        }
    }

    /** Kafka's computeNextAssignment. */
    private static CurrentAssignment nextAssignment(ConsumerGroup group, Member member, int memberEpoch,
            SortedMap<Uuid, SortedSet<Integer>> assignedNow,
            List<ConsumerGroupHeartbeatRequestData.TopicPartitions> owned) {
        SortedMap<Uuid, SortedSet<Integer>> target = group.target(member.memberId);
        boolean unreleased = false;
        Map<Uuid, Set<Integer>> assigned = new TreeMap<>();
        Map<Uuid, Set<Integer>> revoking = new TreeMap<>();
        Map<Uuid, Set<Integer>> assigning = new TreeMap<>();
        Set<Uuid> topics = new TreeSet<>(target.keySet());
        topics.addAll(assignedNow.keySet());
        for (Uuid topic : topics) {
            Set<Integer> targetPartitions = target.getOrDefault(topic, new TreeSet<>());
            Set<Integer> current = assignedNow.getOrDefault(topic, new TreeSet<>());
            Set<Integer> kept = new TreeSet<>(current);
            kept.retainAll(targetPartitions);
            Set<Integer> toRevoke = new TreeSet<>(current);
            toRevoke.removeAll(kept);
            Set<Integer> toAssign = new TreeSet<>(targetPartitions);
            toAssign.removeAll(kept);
            unreleased |= toAssign.removeIf(p -> group.currentPartitionEpoch(topic, p) != -1);
            assigned.put(topic, kept);
            revoking.put(topic, toRevoke);
            assigning.put(topic, toAssign);
        }
        var revokingCopy = ConsumerGroupRecord.copy(revoking);
        int previousEpoch = member.memberEpoch();
        if (!revokingCopy.isEmpty() && ownsAny(owned, revokingCopy)) {
            return new CurrentAssignment(memberEpoch, previousEpoch, MemberState.UNREVOKED_PARTITIONS,
                    ConsumerGroupRecord.copy(assigned), revokingCopy);
        }
        assigning.forEach((topic, ps) -> assigned.get(topic).addAll(ps));
        return new CurrentAssignment(group.assignmentEpoch, previousEpoch,
                unreleased ? MemberState.UNRELEASED_PARTITIONS : MemberState.STABLE,
                ConsumerGroupRecord.copy(assigned), new TreeMap<>());
    }

    /** Whether the member's heartbeat lists any of {@code partitions}; unknown (no list sent) counts as yes. */
    private static boolean ownsAny(List<ConsumerGroupHeartbeatRequestData.TopicPartitions> owned,
            SortedMap<Uuid, SortedSet<Integer>> partitions) {
        if (owned == null) {
            return true;
        }
        for (ConsumerGroupHeartbeatRequestData.TopicPartitions tp : owned) {
            Set<Integer> pending = partitions.getOrDefault(tp.topicId(), new TreeSet<>());
            for (int p : tp.partitions()) {
                if (pending.contains(p)) {
                    return true;
                }
            }
        }
        return false;
    }

    static ConsumerGroupHeartbeatResponseData.Assignment assignment(SortedMap<Uuid, SortedSet<Integer>> partitions) {
        ConsumerGroupHeartbeatResponseData.Assignment a = new ConsumerGroupHeartbeatResponseData.Assignment();
        partitions.forEach((topic, ps) -> a.topicPartitions().add(
                new ConsumerGroupHeartbeatResponseData.TopicPartitions().setTopicId(topic)
                        .setPartitions(new ArrayList<>(ps))));
        return a;
    }

    // ---- leaving, timeouts ----

    private ConsumerGroupHeartbeatResponseData leave(ConsumerGroupHeartbeatRequestData req, long nowMs) {
        ConsumerGroup group = groups.get(req.groupId());
        Member member = null;
        if (group != null) {
            member = req.instanceId() == null ? group.members.get(req.memberId())
                    : group.staticMember(req.instanceId());
        }
        if (member == null) {
            throw new Refused(Errors.UNKNOWN_MEMBER_ID, "Member " + req.memberId() + " is not in group "
                    + req.groupId() + ".");
        }
        if (req.instanceId() != null && !member.memberId.equals(req.memberId())) {
            throw new Refused(Errors.FENCED_INSTANCE_ID, "Instance id " + req.instanceId()
                    + " belongs to another member.");
        }
        ConsumerGroupHeartbeatResponseData response = new ConsumerGroupHeartbeatResponseData()
                .setMemberId(req.memberId()).setMemberEpoch(req.memberEpoch());
        if (req.memberEpoch() == LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
            // KIP-848: a static member leaving for a while keeps its partitions until its session ends.
            CurrentAssignment c = member.current;
            emit(outbox, new CurrentMemberAssignment(group.groupId, member.memberId, new CurrentAssignment(
                    LEAVE_GROUP_STATIC_MEMBER_EPOCH, c.memberEpoch(), MemberState.STABLE, c.assignedPartitions(),
                    new TreeMap<>())), nowMs);
            member.rebalanceDeadlineMs = Long.MAX_VALUE;
            return response;
        }
        fence(outbox, group, member, nowMs);
        return response;
    }

    /** Removes members whose session or rebalance timeout passed (Kafka: fenced; their partitions are freed). */
    void tick(long nowMs) {
        for (ConsumerGroup group : List.copyOf(groups.values())) {
            for (Member m : List.copyOf(group.members.values())) {
                if (m.sessionDeadlineMs <= nowMs || m.rebalanceDeadlineMs <= nowMs) {
                    fence(outbox, group, m, nowMs);
                }
            }
        }
    }

    /** Removes a member and bumps the group epoch (Kafka's consumerGroupFenceMember). */
    private void fence(List<GroupRecord> records, ConsumerGroup group, Member member, long nowMs) {
        removeMember(records, group, member, nowMs);
        Set<String> names = subscribedTopics(group);
        List<TopicMetadata> metadata = group.subscriptionMetadata.stream()
                .filter(t -> names.contains(t.topicName())).toList();
        if (!metadata.equals(group.subscriptionMetadata)) {
            emit(records, new SubscriptionMetadata(group.groupId, metadata), nowMs);
        }
        emit(records, new GroupEpoch(group.groupId, group.groupEpoch + 1), nowMs);
    }

    private void removeMember(List<GroupRecord> records, ConsumerGroup group, Member member, long nowMs) {
        emit(records, new CurrentMemberAssignment(group.groupId, member.memberId, null), nowMs);
        emit(records, new TargetAssignmentMember(group.groupId, member.memberId, null), nowMs);
        emit(records, new MemberMetadata(group.groupId, member.memberId, null), nowMs);
    }

    /**
     * Deletes an Empty group (DeleteGroups, or a classic group taking its id): its records' tombstones, applied now.
     * Returns them for the caller to append.
     */
    List<GroupRecord> delete(String groupId, long nowMs) {
        ConsumerGroup group = groups.get(groupId);
        if (group == null) {
            return List.of();
        }
        if (!group.members.isEmpty()) {
            throw new IllegalStateException("deleting consumer group " + groupId + " with members");
        }
        List<GroupRecord> records = new ArrayList<>();
        group.targetAssignment.keySet().stream().sorted().toList().forEach(
                m -> emit(records, new TargetAssignmentMember(groupId, m, null), nowMs));
        emit(records, new TargetAssignmentEpoch(groupId, null), nowMs);
        emit(records, new SubscriptionMetadata(groupId, null), nowMs);
        emit(records, new GroupEpoch(groupId, null), nowMs);
        return records;
    }

    // ---- offsets ----

    /**
     * Kafka's ConsumerGroup.validateOffsetCommit: null if {@code groupId} is not a consumer group (the classic rules
     * apply), else the error for the commit (NONE to accept). A commit without member epoch is accepted only while
     * the group has no members (admin tools, consumers without group management).
     */
    Errors validateCommit(String groupId, String memberId, int memberEpoch, boolean transactional, short version) {
        ConsumerGroup group = groups.get(groupId);
        if (group == null) {
            return null;
        }
        if (memberEpoch < 0 && group.members.isEmpty()) {
            return Errors.NONE;
        }
        if (transactional && memberEpoch < 0 && (memberId == null || memberId.isEmpty())) {
            return Errors.NONE; // TxnOffsetCommit v0-2 carry no member
        }
        Member member = memberId == null ? null : group.members.get(memberId);
        if (member == null) {
            return Errors.UNKNOWN_MEMBER_ID;
        }
        if (!transactional && version < 9) {
            return Errors.UNSUPPORTED_VERSION; // a KIP-848 member commits with OffsetCommit v9+
        }
        return memberEpoch != member.memberEpoch() ? Errors.STALE_MEMBER_EPOCH : Errors.NONE;
    }

    /** Kafka's ConsumerGroup.validateOffsetFetch: null if not a consumer group or no member given (admin). */
    Errors validateFetch(String groupId, String memberId, int memberEpoch) {
        ConsumerGroup group = groups.get(groupId);
        if (group == null || (memberEpoch < 0 && (memberId == null || memberId.isEmpty()))) {
            return null;
        }
        Member member = memberId == null ? null : group.members.get(memberId);
        if (member == null) {
            return Errors.UNKNOWN_MEMBER_ID;
        }
        return memberEpoch != member.memberEpoch() ? Errors.STALE_MEMBER_EPOCH : Errors.NONE;
    }

    // ---- replay ----

    private void emit(List<GroupRecord> records, ConsumerGroupRecord record, long nowMs) {
        replay(record, nowMs, true);
        records.add(record);
    }

    /**
     * Applies a record to the state (Kafka's GroupMetadataManager.replay). Called by this manager as it decides
     * ({@code strict}: a broken invariant throws) and by a loading coordinator for every record of the partition in
     * log order; a loaded member's session starts at {@code nowMs}.
     */
    void replay(ConsumerGroupRecord record, long nowMs, boolean strict) {
        String groupId = record.group();
        if (record instanceof GroupEpoch r) {
            if (r.epoch() == null) {
                groups.remove(groupId);
            } else {
                getOrCreate(groupId).groupEpoch = r.epoch();
            }
        } else if (record instanceof SubscriptionMetadata r) {
            if (r.topics() != null || groups.containsKey(groupId)) {
                getOrCreate(groupId).subscriptionMetadata = r.topics() == null ? List.of() : r.topics();
            }
        } else if (record instanceof MemberMetadata r) {
            if (r.subscription() == null) {
                ConsumerGroup group = groups.get(groupId);
                Member removed = group == null ? null : group.members.remove(r.memberId());
                if (removed != null) {
                    group.release(removed);
                }
            } else {
                member(groupId, r.memberId(), nowMs).subscription = r.subscription();
            }
        } else if (record instanceof TargetAssignmentEpoch r) {
            if (r.assignmentEpoch() != null) {
                getOrCreate(groupId).assignmentEpoch = r.assignmentEpoch();
            }
        } else if (record instanceof TargetAssignmentMember r) {
            if (r.partitions() == null) {
                ConsumerGroup group = groups.get(groupId);
                if (group != null) {
                    group.targetAssignment.remove(r.memberId());
                }
            } else {
                getOrCreate(groupId).targetAssignment.put(r.memberId(), r.partitions());
            }
        } else if (record instanceof CurrentMemberAssignment r) {
            ConsumerGroup group = groups.get(groupId);
            if (r.assignment() == null) {
                Member m = group == null ? null : group.members.get(r.memberId());
                if (m != null) {
                    group.setCurrent(m, ConsumerGroup.EMPTY_ASSIGNMENT, strict);
                }
            } else {
                Member m = member(groupId, r.memberId(), nowMs);
                groups.get(groupId).setCurrent(m, r.assignment(), strict);
            }
        }
    }

    private ConsumerGroup getOrCreate(String groupId) {
        return groups.computeIfAbsent(groupId, ConsumerGroup::new);
    }

    private Member member(String groupId, String memberId, long nowMs) {
        return getOrCreate(groupId).members.computeIfAbsent(memberId, id -> {
            Member m = new Member(id);
            m.subscription = new MemberSubscription(null, null, "", "", List.of(), null,
                    DEFAULT_REBALANCE_TIMEOUT_MS, null);
            m.sessionDeadlineMs = nowMs + config.sessionTimeoutMs();
            return m;
        });
    }
}
