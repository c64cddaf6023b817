package io.tributary.node.group;

import io.tributary.node.group.ClassicGroup.CommittedOffset;
import io.tributary.node.group.GroupRecord.GroupMetadataRecord;
import io.tributary.node.group.GroupRecord.GroupTombstone;
import io.tributary.node.group.GroupRecord.MemberRecord;
import io.tributary.node.group.GroupRecord.OffsetCommitRecord;
import io.tributary.node.group.GroupRecord.OffsetTombstone;
import io.tributary.node.group.GroupState.Dead;
import io.tributary.node.group.GroupState.Empty;
import io.tributary.node.group.GroupState.Stable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.message.ConsumerGroupDescribeResponseData;
import org.apache.kafka.common.message.ConsumerGroupHeartbeatRequestData;
import org.apache.kafka.common.message.ConsumerGroupHeartbeatResponseData;
import org.apache.kafka.common.message.DeleteGroupsRequestData;
import org.apache.kafka.common.message.DeleteGroupsResponseData;
import org.apache.kafka.common.message.DescribeGroupsRequestData;
import org.apache.kafka.common.message.DescribeGroupsResponseData;
import org.apache.kafka.common.message.HeartbeatRequestData;
import org.apache.kafka.common.message.HeartbeatResponseData;
import org.apache.kafka.common.message.JoinGroupRequestData;
import org.apache.kafka.common.message.JoinGroupResponseData;
import org.apache.kafka.common.message.LeaveGroupRequestData;
import org.apache.kafka.common.message.LeaveGroupResponseData;
import org.apache.kafka.common.message.ListGroupsRequestData;
import org.apache.kafka.common.message.ListGroupsResponseData;
import org.apache.kafka.common.message.OffsetCommitRequestData;
import org.apache.kafka.common.message.OffsetDeleteRequestData;
import org.apache.kafka.common.message.OffsetDeleteResponseData;
import org.apache.kafka.common.message.OffsetFetchRequestData;
import org.apache.kafka.common.message.OffsetFetchResponseData;
import org.apache.kafka.common.message.SyncGroupRequestData;
import org.apache.kafka.common.message.SyncGroupResponseData;
import org.apache.kafka.common.message.TxnOffsetCommitRequestData;
import org.apache.kafka.common.protocol.Errors;

/**
 * The classic consumer-group coordinator of ONE {@code __consumer_offsets} partition, as a deterministic core: no
 * I/O, no threads, no clock (time comes in as {@code nowMs}), no randomness (member ids end with a suffix from the
 * injected supplier). Follows Kafka's GroupMetadataManager/ClassicGroup/OffsetMetadataManager.
 *
 * <p>Threads: NOT thread-safe. The driver owns one instance per coordinated partition and calls it from one thread.
 * Futures returned by {@link #joinGroup} and {@link #syncGroup} complete on that thread, inside a later call
 * (another member's request, {@link #onTick}) or before the method returns.
 *
 * <p>The driver's duties, in order:
 * <ol>
 *   <li>On becoming the partition's leader: create a coordinator, {@link #load} every record of the partition
 *       (answer COORDINATOR_LOAD_IN_PROGRESS meanwhile), then serve.</li>
 *   <li>Offsets, OffsetDelete and DeleteGroups decide without changing state and return records plus a response:
 *       append the records (acks=all), then {@link #replay} each in log order with its log offset, then send the
 *       response (on append failure, send {@link OffsetCommitDecision#failed} or map the error alike). Until
 *       replayed, the state is unchanged.</li>
 *   <li>TxnOffsetCommit likewise, but its records go in one transactional batch of the request's producer id and
 *       epoch and are replayed with {@link #replayTransactional}: they stay pending (invisible to OffsetFetch) until
 *       the driver calls {@link #completeTransaction} for a COMMIT or ABORT marker of that producer written to the
 *       partition. Replay and completion must follow log order: a transaction's records before its marker.</li>
 *   <li>JoinGroup, SyncGroup, Heartbeat and LeaveGroup change membership in memory at once (members must rejoin a
 *       new coordinator anyway if the snapshot is lost); after each such call, and with the result of
 *       {@link #onTick}, append the membership snapshots from {@link #takeRecords()}. Their replay is a no-op on
 *       a live coordinator; a successor {@link #load}s them.</li>
 *   <li>Call {@link #onTick} regularly (every 100 ms is plenty): it expires sessions, completes join phases and the
 *       initial rebalance delay, expires pending syncs and (every {@code offsetsRetentionCheckIntervalMs}) offsets.
 *       Its returned records are appended and replayed as in 2.</li>
 *   <li>On losing leadership: drop the instance (outstanding futures are the driver's to answer NOT_COORDINATOR).</li>
 * </ol>
 *
 * <p>Versions: JoinGroup v0-9, SyncGroup v0-5, Heartbeat v0-4, LeaveGroup v0-5, OffsetCommit v2-10, OffsetFetch
 * v1-10, TxnOffsetCommit v0-4, ListGroups v0-5, DescribeGroups v0-6, DeleteGroups v0-2, OffsetDelete v0. For OffsetCommit/OffsetFetch
 * v10 (topic ids) the driver fills each request topic's name from its id before calling, and the id of every
 * response topic that lacks one.
 */
public final class GroupCoordinator {

    private final GroupCoordinatorConfig config;
    /** Groups in creation/load order: iteration (ticks, ListGroups) is deterministic. */
    private final Map<String, ClassicGroup> groups = new LinkedHashMap<>();
    private final List<GroupRecord> outbox = new ArrayList<>();
    private final MembershipManager membership;
    private final OffsetManager offsets;
    private final PendingTxnOffsets pending = new PendingTxnOffsets();
    private long nextRetentionCheckMs = Long.MIN_VALUE;
    private final ConsumerGroupManager consumerGroups;

    /**
     * @param uniqueIds supplies the suffix of new member ids ({@code clientId-suffix}, or {@code instanceId-suffix}
     *     for static members); it must not repeat ids used by a previous coordinator of the partition (the driver
     *     passes random UUIDs, tests a counter)
     */
    public GroupCoordinator(GroupCoordinatorConfig config, Supplier<String> uniqueIds) {
        this(config, ConsumerGroupConfig.defaults(), uniqueIds);
    }

    /** @param consumerConfig the limits of KIP-848 consumer groups */
    public GroupCoordinator(GroupCoordinatorConfig config, ConsumerGroupConfig consumerConfig,
            Supplier<String> uniqueIds) {
        this.config = Objects.requireNonNull(config);
        this.membership = new MembershipManager(config, groups, Objects.requireNonNull(uniqueIds), outbox);
        this.consumerGroups = new ConsumerGroupManager(consumerConfig, outbox, uniqueIds, this::classicGroupInUse);
        this.offsets = new OffsetManager(config, groups, pending, this::consumerGroupMembers);
    }

    /** Whether a classic group of that id has members (or members joining): it cannot become a consumer group. */
    private boolean classicGroupInUse(String groupId) {
        ClassicGroup group = groups.get(groupId);
        return group != null && (!group.members.isEmpty() || !group.pendingJoinMembers.isEmpty()
                || !group.is(Empty.class) && !group.is(Dead.class));
    }

    /** The members of the consumer group of that id, -1 if it is not a consumer group. */
    private int consumerGroupMembers(String groupId) {
        ConsumerGroup group = consumerGroups.group(groupId);
        return group == null ? -1 : group.members.size();
    }

    // ---- KIP-848 consumer groups (applied at once; records via takeRecords) ----

    /**
     * ConsumerGroupHeartbeat v0-1: join (member epoch 0), heartbeat, leave (-1, or -2 for a static member). The
     * decision is applied at once; the driver appends {@link #takeRecords()} and answers once they are committed.
     */
    public ConsumerGroupHeartbeatResponseData consumerGroupHeartbeat(ConsumerGroupHeartbeatRequestData req,
            short version, String clientId, String clientHost, ClusterTopics topics, long nowMs) {
        return consumerGroups.heartbeat(req, version, clientId, clientHost, topics, nowMs);
    }

    /** ConsumerGroupDescribe v0-1; topic names from {@code topics} (a deleted topic's partitions are left out). */
    public ConsumerGroupDescribeResponseData.DescribedGroup describeConsumerGroup(String groupId,
            ClusterTopics topics) {
        return ConsumerGroupDescriber.describe(groupId, consumerGroups.group(groupId), groups.containsKey(groupId),
                consumerGroups.config().assignors(), topics);
    }

    // ---- membership (applied at once; snapshots via takeRecords) ----

    public CompletableFuture<JoinGroupResponseData> joinGroup(JoinGroupRequestData req, short version,
            String clientId, String clientHost, long nowMs) {
        ConsumerGroup consumerGroup = req.groupId() == null ? null : consumerGroups.group(req.groupId());
        if (consumerGroup != null && !consumerGroup.members.isEmpty()) {
            // Kafka would add a classic member to a consumer group (KIP-848 migration); not here.
            return CompletableFuture.completedFuture(new JoinGroupResponseData()
                    .setErrorCode(Errors.INCONSISTENT_GROUP_PROTOCOL.code()).setGenerationId(-1)
                    .setMemberId(req.memberId()).setProtocolName(version >= 7 ? null : "").setLeader(""));
        }
        if (consumerGroup != null) {
            outbox.addAll(consumerGroups.delete(req.groupId(), nowMs)); // an Empty consumer group becomes classic
        }
        return membership.joinGroup(req, version, clientId, clientHost, nowMs);
    }

    public CompletableFuture<SyncGroupResponseData> syncGroup(SyncGroupRequestData req, short version, long nowMs) {
        return membership.syncGroup(req, version, nowMs);
    }

    public HeartbeatResponseData heartbeat(HeartbeatRequestData req, long nowMs) {
        return membership.heartbeat(req, nowMs);
    }

    public LeaveGroupResponseData leaveGroup(LeaveGroupRequestData req, short version, long nowMs) {
        return membership.leaveGroup(req, version, nowMs);
    }

    /** The membership snapshots decided since the last call, to append in order. */
    public List<GroupRecord> takeRecords() {
        List<GroupRecord> taken = List.copyOf(outbox);
        outbox.clear();
        return taken;
    }

    /**
     * Acts on every deadline that has passed: sessions, pending member ids, join phases (rebalance timeout and
     * initial rebalance delay), pending syncs, and offsets retention. Returns the records to append and replay
     * (offset and group tombstones, membership snapshots); {@link #takeRecords()} is then empty.
     */
    public List<GroupRecord> onTick(long nowMs) {
        for (ClassicGroup group : new ArrayList<>(groups.values())) {
            membership.tick(group, nowMs);
        }
        consumerGroups.tick(nowMs);
        List<GroupRecord> records = new ArrayList<>(takeRecords());
        if (nowMs >= nextRetentionCheckMs) {
            records.addAll(offsets.expireOffsets(nowMs));
            nextRetentionCheckMs = nowMs + config.offsetsRetentionCheckIntervalMs();
        }
        return records;
    }

    // ---- offsets and deletion (decide; state changes on replay) ----

    /** @param topicExists whether the partition exists in the cluster (else UNKNOWN_TOPIC_OR_PARTITION) */
    public OffsetCommitDecision commitOffsets(OffsetCommitRequestData req, short version,
            Predicate<TopicPartition> topicExists, long nowMs) {
        Errors consumerGroupError = req.groupId() == null ? null : consumerGroups.validateCommit(req.groupId(),
                req.memberId(), req.generationIdOrMemberEpoch(), false, version);
        return offsets.commitOffsets(req, topicExists, nowMs, consumerGroupError);
    }

    /**
     * TxnOffsetCommit: the records to append as one transactional batch of the producer, and the response.
     *
     * @param topicExists whether the partition exists in the cluster (else UNKNOWN_TOPIC_OR_PARTITION)
     */
    public TxnOffsetCommitDecision commitTransactionalOffsets(TxnOffsetCommitRequestData req, short version,
            Predicate<TopicPartition> topicExists, long nowMs) {
        Errors consumerGroupError = req.groupId() == null ? null : consumerGroups.validateCommit(req.groupId(),
                req.memberId(), req.generationId(), true, version);
        return offsets.commitTransactionalOffsets(req, topicExists, nowMs, consumerGroupError);
    }

    /** OffsetFetch; with {@code require_stable} (v7+) a partition with a pending transactional offset of the group
     * answers UNSTABLE_OFFSET_COMMIT. */
    public OffsetFetchResponseData fetchOffsets(OffsetFetchRequestData req, short version) {
        OffsetFetchResponseData response = offsets.fetchOffsets(req, version);
        if (version >= 9) {
            // KIP-848: a member's fetch carries its member id and epoch (Kafka's validateOffsetFetch)
            for (int i = 0; i < req.groups().size(); i++) {
                OffsetFetchRequestData.OffsetFetchRequestGroup g = req.groups().get(i);
                Errors error = consumerGroups.validateFetch(g.groupId(), g.memberId(), g.memberEpoch());
                if (error != null && error != Errors.NONE) {
                    response.groups().set(i, new OffsetFetchResponseData.OffsetFetchResponseGroup()
                            .setGroupId(g.groupId()).setErrorCode(error.code()));
                }
            }
        }
        return response;
    }

    /**
     * OffsetDelete; for a consumer group with members, the offsets of topics a member subscribes to stay
     * (GROUP_SUBSCRIBED_TO_TOPIC), as in Kafka.
     */
    public GroupDecision<OffsetDeleteResponseData> deleteOffsets(OffsetDeleteRequestData req) {
        ConsumerGroup consumerGroup = consumerGroups.group(req.groupId());
        if (consumerGroup == null || consumerGroup.members.isEmpty()) {
            return offsets.deleteOffsets(req);
        }
        Set<String> subscribed = ConsumerGroupManager.subscribedTopics(consumerGroup);
        OffsetDeleteRequestData.OffsetDeleteRequestTopicCollection allowed =
                new OffsetDeleteRequestData.OffsetDeleteRequestTopicCollection();
        List<OffsetDeleteResponseData.OffsetDeleteResponseTopic> refused = new ArrayList<>();
        for (OffsetDeleteRequestData.OffsetDeleteRequestTopic t : req.topics()) {
            if (!subscribed.contains(t.name())) {
                allowed.add(t.duplicate());
                continue;
            }
            OffsetDeleteResponseData.OffsetDeleteResponseTopic topic =
                    new OffsetDeleteResponseData.OffsetDeleteResponseTopic().setName(t.name());
            t.partitions().forEach(p -> topic.partitions().add(new OffsetDeleteResponseData
                    .OffsetDeleteResponsePartition().setPartitionIndex(p.partitionIndex())
                    .setErrorCode(Errors.GROUP_SUBSCRIBED_TO_TOPIC.code())));
            refused.add(topic);
        }
        GroupDecision<OffsetDeleteResponseData> decision = offsets.deleteOffsets(req.duplicate().setTopics(allowed));
        if (decision.response().errorCode() == Errors.NONE.code()) {
            refused.forEach(t -> decision.response().topics().add(t));
        }
        return decision;
    }

    public GroupDecision<DeleteGroupsResponseData> deleteGroups(DeleteGroupsRequestData req, long nowMs) {
        List<GroupRecord> records = new ArrayList<>();
        DeleteGroupsRequestData classic = new DeleteGroupsRequestData();
        DeleteGroupsResponseData response = new DeleteGroupsResponseData();
        for (String groupId : req.groupsNames()) {
            ConsumerGroup consumerGroup = consumerGroups.group(groupId);
            if (consumerGroup != null && !consumerGroup.members.isEmpty()) {
                if (response.results().find(groupId) == null) {
                    response.results().add(new DeleteGroupsResponseData.DeletableGroupResult().setGroupId(groupId)
                            .setErrorCode(Errors.NON_EMPTY_GROUP.code()));
                }
                continue;
            }
            if (consumerGroup != null) {
                // Its offsets (kept as a classic group's) go with the classic deletion below; a group without
                // offsets or classic records is deleted by its tombstones alone.
                records.addAll(consumerGroups.delete(groupId, nowMs));
                if (!groups.containsKey(groupId)) {
                    if (response.results().find(groupId) == null) {
                        response.results().add(new DeleteGroupsResponseData.DeletableGroupResult()
                                .setGroupId(groupId).setErrorCode(Errors.NONE.code()));
                    }
                    continue;
                }
            }
            classic.groupsNames().add(groupId);
        }
        GroupDecision<DeleteGroupsResponseData> classicDecision = offsets.deleteGroups(classic);
        records.addAll(classicDecision.records());
        classicDecision.response().results().forEach(r -> response.results().add(r.duplicate()));
        return new GroupDecision<>(records, response);
    }

    /** DeleteGroups at the coordinator's current time (tests). */
    public GroupDecision<DeleteGroupsResponseData> deleteGroups(DeleteGroupsRequestData req) {
        return deleteGroups(req, 0);
    }

    // ---- admin ----

    public ListGroupsResponseData listGroups(ListGroupsRequestData req) {
        Set<String> states = req.statesFilter().stream().map(s -> s.toLowerCase(Locale.ROOT))
                .collect(Collectors.toSet());
        Set<String> types = req.typesFilter().stream().map(s -> s.toLowerCase(Locale.ROOT))
                .collect(Collectors.toSet());
        ListGroupsResponseData response = new ListGroupsResponseData();
        if (types.isEmpty() || types.contains("consumer")) {
            for (ConsumerGroup group : consumerGroups.groups()) {
                String state = group.state();
                if (states.isEmpty() || states.contains(state.toLowerCase(Locale.ROOT))) {
                    response.groups().add(new ListGroupsResponseData.ListedGroup().setGroupId(group.groupId)
                            .setProtocolType("consumer").setGroupState(state).setGroupType("consumer"));
                }
            }
        }
        if (!types.isEmpty() && !types.contains("classic")) {
            return response;
        }
        for (ClassicGroup group : groups.values()) {
            String state = group.state.kafkaName();
            if (group.is(Dead.class) || (!states.isEmpty() && !states.contains(state.toLowerCase(Locale.ROOT)))
                    || consumerGroups.group(group.groupId) != null) {
                continue;
            }
            response.groups().add(new ListGroupsResponseData.ListedGroup().setGroupId(group.groupId)
                    .setProtocolType(group.protocolType == null ? "" : group.protocolType).setGroupState(state)
                    .setGroupType("classic"));
        }
        return response;
    }

    /** DescribeGroups; an unknown group is reported Dead, with GROUP_ID_NOT_FOUND from v6 (KIP-1043). */
    public DescribeGroupsResponseData describeGroups(DescribeGroupsRequestData req, short version) {
        DescribeGroupsResponseData response = new DescribeGroupsResponseData();
        for (String groupId : req.groups()) {
            ClassicGroup group = groups.get(groupId);
            DescribeGroupsResponseData.DescribedGroup described = new DescribeGroupsResponseData.DescribedGroup()
                    .setGroupId(groupId);
            if (consumerGroups.group(groupId) != null) {
                // Kafka: DescribeGroups describes classic groups only
                response.groups().add(described.setGroupState("Dead").setProtocolType("").setProtocolData("")
                        .setErrorCode(version >= 6 ? Errors.GROUP_ID_NOT_FOUND.code() : Errors.NONE.code())
                        .setErrorMessage(version >= 6 ? "Group " + groupId + " is not a classic group." : null));
                continue;
            }
            if (group == null || group.is(Dead.class)) {
                response.groups().add(described.setGroupState("Dead").setProtocolType("").setProtocolData("")
                        .setErrorCode(version >= 6 ? Errors.GROUP_ID_NOT_FOUND.code() : Errors.NONE.code()));
                continue;
            }
            boolean stable = group.is(Stable.class);
            described.setGroupState(group.state.kafkaName())
                    .setProtocolType(group.protocolType == null ? "" : group.protocolType)
                    .setProtocolData(stable ? group.protocolName : "");
            for (GroupMember m : group.members.values()) {
                described.members().add(new DescribeGroupsResponseData.DescribedGroupMember()
                        .setMemberId(m.memberId).setGroupInstanceId(m.groupInstanceId).setClientId(m.clientId)
                        .setClientHost(m.clientHost)
                        .setMemberMetadata(stable ? m.metadata(group.protocolName) : GroupMember.NO_BYTES)
                        .setMemberAssignment(stable ? m.assignment : GroupMember.NO_BYTES));
            }
            response.groups().add(described);
        }
        return response;
    }

    // ---- metrics accessors ----

    /** The group's committed offsets (empty for an unknown group). */
    public Map<TopicPartition, Long> committedOffsets(String groupId) {
        ClassicGroup group = groups.get(groupId);
        Map<TopicPartition, Long> result = new TreeMap<>(
                java.util.Comparator.comparing(TopicPartition::topic).thenComparing(TopicPartition::partition));
        if (group != null) {
            group.offsets.forEach((tp, o) -> result.put(tp, o.offset()));
        }
        return result;
    }

    /** Kafka's name of the group's state; "Dead" for an unknown group. */
    public String groupState(String groupId) {
        ConsumerGroup consumerGroup = consumerGroups.group(groupId);
        if (consumerGroup != null) {
            return consumerGroup.state();
        }
        ClassicGroup group = groups.get(groupId);
        return group == null ? "Dead" : group.state.kafkaName();
    }

    public Set<String> groupIds() {
        Set<String> ids = new java.util.HashSet<>(groups.keySet());
        consumerGroups.groups().forEach(g -> ids.add(g.groupId));
        return Set.copyOf(ids);
    }

    // ---- persistence ----

    /**
     * Applies a record appended to the partition at {@code recordOffset} by this coordinator, not in a transaction.
     * Offset records and tombstones change state here and only here; a {@link GroupMetadataRecord} is a no-op
     * (membership was applied when decided). A group tombstone does not remove a group that members joined since it
     * was decided. An offset tombstone also drops the partition's pending offsets of open transactions (Kafka).
     */
    public void replay(GroupRecord record, long recordOffset) {
        if (record instanceof ConsumerGroupRecord) {
            return; // applied when decided
        }
        if (record instanceof OffsetCommitRecord r) {
            groups.computeIfAbsent(r.group(), g -> new ClassicGroup(g, r.commitTimestampMs())).offsets.put(
                    new TopicPartition(r.topic(), r.partition()), committed(r, recordOffset));
        } else if (record instanceof OffsetTombstone r) {
            TopicPartition tp = new TopicPartition(r.topic(), r.partition());
            ClassicGroup group = groups.get(r.group());
            if (group != null) {
                group.offsets.remove(tp);
            }
            pending.remove(r.group(), tp);
        } else if (record instanceof GroupTombstone r) {
            deleteGroupMetadata(r.group());
        }
    }

    /**
     * Applies a record appended at {@code recordOffset} in a transactional batch of {@code producerId}: an offset
     * commit becomes pending in the producer's transaction (the group is created if unknown, a simple group, as
     * Kafka does); any other record is applied as by {@link #replay} (Kafka: only offset commits are transactional).
     */
    public void replayTransactional(GroupRecord record, long recordOffset, long producerId) {
        if (record instanceof OffsetCommitRecord r) {
            groups.computeIfAbsent(r.group(), g -> new ClassicGroup(g, r.commitTimestampMs()));
            pending.add(producerId, r.group(), new TopicPartition(r.topic(), r.partition()),
                    committed(r, recordOffset));
        } else {
            replay(record, recordOffset);
        }
    }

    /**
     * Applies a COMMIT ({@code commit}) or ABORT marker of the producer's transaction written to this partition
     * (Kafka's replayEndTransactionMarker): on COMMIT its pending offsets become the committed ones, except where a
     * partition's committed offset came from a later record (a regular commit after the transactional one, in log
     * order: the later one wins, as in Kafka); on ABORT they go. A marker of a producer without pending offsets here
     * changes nothing.
     */
    public void completeTransaction(long producerId, boolean commit) {
        Map<String, Map<TopicPartition, CommittedOffset>> done = pending.complete(producerId);
        if (!commit) {
            return;
        }
        done.forEach((groupId, offsets) -> offsets.forEach((tp, offset) -> {
            ClassicGroup group = groups.computeIfAbsent(groupId, g -> new ClassicGroup(g,
                    offset.commitTimestampMs()));
            CommittedOffset existing = group.offsets.get(tp);
            if (existing == null || offset.recordOffset() > existing.recordOffset()) {
                group.offsets.put(tp, offset);
            }
        }));
    }

    private static CommittedOffset committed(OffsetCommitRecord r, long recordOffset) {
        return new CommittedOffset(r.offset(), r.leaderEpoch(), r.metadata(), r.commitTimestampMs(), recordOffset);
    }

    /**
     * Rebuilds the state of a new coordinator from every entry of the partition, in log order: offsets exactly,
     * transactional ones pending until their producer's marker; each group from its last snapshot, Stable with its
     * members (whose sessions restart at {@code nowMs}, as Kafka does) or Empty. Must be called before any other
     * call.
     */
    public void load(Iterable<GroupLogEntry> records, long nowMs) {
        if (!groups.isEmpty() || !outbox.isEmpty()) {
            throw new IllegalStateException("load() on a coordinator that already has state");
        }
        loadMore(records, nowMs);
    }

    /**
     * Replays the next records of the partition, in log order, on top of those replayed so far: a partition is loaded
     * in bounded chunks ({@link #load} with the first, this with the rest) before the coordinator serves requests.
     */
    public void loadMore(Iterable<GroupLogEntry> records, long nowMs) {
        for (GroupLogEntry entry : records) {
            if (entry instanceof GroupLogEntry.TxnMarker m) {
                completeTransaction(m.producerId(), m.commit());
            } else if (entry instanceof GroupLogEntry.Data d && d.record() instanceof GroupMetadataRecord r) {
                restore(r, nowMs);
            } else if (entry instanceof GroupLogEntry.Data d && d.record() instanceof ConsumerGroupRecord r) {
                consumerGroups.replay(r, nowMs, false);
            } else if (entry instanceof GroupLogEntry.Data d && d.producerId() != GroupLogEntry.NO_PRODUCER_ID) {
                replayTransactional(d.record(), d.recordOffset(), d.producerId());
            } else if (entry instanceof GroupLogEntry.Data d) {
                replay(d.record(), d.recordOffset());
            }
        }
    }

    private void restore(GroupMetadataRecord r, long nowMs) {
        ClassicGroup previous = groups.get(r.group());
        ClassicGroup group = new ClassicGroup(r.group(), r.stateTimestampMs());
        if (previous != null) {
            group.offsets.putAll(previous.offsets);
        }
        group.protocolType = r.protocolType();
        group.protocolName = r.protocol();
        group.generation = r.generation();
        for (MemberRecord m : r.members()) {
            GroupMember member = new GroupMember(m.memberId(), m.groupInstanceId(), m.clientId(), m.clientHost(),
                    r.protocolType(), m.rebalanceTimeoutMs(), m.sessionTimeoutMs(),
                    List.of(new GroupMember.Protocol(r.protocol(), m.metadata())));
            member.assignment = m.assignment();
            member.sessionDeadlineMs = nowMs + m.sessionTimeoutMs();
            group.add(member, null);
        }
        group.leaderId = r.members().isEmpty() ? null : r.leader();
        group.state = r.members().isEmpty() ? new Empty() : new Stable(Long.MAX_VALUE);
        group.subscribedTopics = group.computeSubscribedTopics();
        groups.put(r.group(), group);
    }

    private void deleteGroupMetadata(String groupId) {
        ClassicGroup group = groups.get(groupId);
        if (group == null || !group.members.isEmpty() || !group.pendingJoinMembers.isEmpty()
                || !group.is(Empty.class)) {
            return;
        }
        if (group.offsets.isEmpty()) {
            group.transitionTo(new Dead(), group.stateSinceMs);
            groups.remove(groupId);
        } else {
            // Offsets committed after the deletion was decided survive it, in a fresh standalone group.
            ClassicGroup fresh = new ClassicGroup(groupId, group.stateSinceMs);
            fresh.offsets.putAll(group.offsets);
            groups.put(groupId, fresh);
        }
    }

    /** Whether an open transaction has a pending offset of the group's partition. */
    public boolean hasPendingTxnOffset(String groupId, TopicPartition tp) {
        return pending.has(groupId, tp);
    }

    /** For tests in this package: the pending transactional offsets. */
    PendingTxnOffsets pendingTxnOffsets() {
        return pending;
    }

    /** For tests in this package: the consumer group's internals. */
    ConsumerGroup consumerGroup(String groupId) {
        return consumerGroups.group(groupId);
    }

    /** For tests in this package: the group's internals. */
    ClassicGroup group(String groupId) {
        return groups.get(groupId);
    }
}
