package io.tributary.node.group;

import io.tributary.node.group.ClassicGroup.CommittedOffset;
import io.tributary.node.group.GroupRecord.GroupTombstone;
import io.tributary.node.group.GroupRecord.OffsetCommitRecord;
import io.tributary.node.group.GroupRecord.OffsetTombstone;
import io.tributary.node.group.GroupState.CompletingRebalance;
import io.tributary.node.group.GroupState.Dead;
import io.tributary.node.group.GroupState.Empty;
import io.tributary.node.group.GroupState.Stable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.function.Predicate;
import java.util.function.ToIntFunction;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.DeleteGroupsRequestData;
import org.apache.kafka.common.message.DeleteGroupsResponseData;
import org.apache.kafka.common.message.OffsetCommitRequestData;
import org.apache.kafka.common.message.OffsetCommitResponseData;
import org.apache.kafka.common.message.OffsetDeleteRequestData;
import org.apache.kafka.common.message.OffsetDeleteResponseData;
import org.apache.kafka.common.message.OffsetFetchRequestData;
import org.apache.kafka.common.message.OffsetFetchResponseData;
import org.apache.kafka.common.message.TxnOffsetCommitRequestData;
import org.apache.kafka.common.message.TxnOffsetCommitResponseData;
import org.apache.kafka.common.protocol.Errors;

/**
 * Committed offsets: OffsetCommit, TxnOffsetCommit, OffsetFetch, OffsetDelete, DeleteGroups and offsets retention,
 * following Kafka's OffsetMetadataManager. Decides only: every change is returned as records and applied by
 * {@link GroupCoordinator#replay} (and {@link GroupCoordinator#replayTransactional}). Called only by
 * {@link GroupCoordinator}, on its thread.
 */
final class OffsetManager {

    /** Kafka's answer for a partition without a committed offset. */
    static final long NO_OFFSET = -1L;
    static final int NO_LEADER_EPOCH = -1;
    static final String NO_METADATA = "";

    private final GroupCoordinatorConfig config;
    private final Map<String, ClassicGroup> groups;
    private final PendingTxnOffsets pending;
    /** The members of the KIP-848 consumer group of an id, -1 if it is not one (its offsets are kept here too). */
    private final ToIntFunction<String> consumerGroupMembers;

    OffsetManager(GroupCoordinatorConfig config, Map<String, ClassicGroup> groups, PendingTxnOffsets pending,
            ToIntFunction<String> consumerGroupMembers) {
        this.config = config;
        this.groups = groups;
        this.pending = pending;
        this.consumerGroupMembers = consumerGroupMembers;
    }

    /**
     * @param consumerGroupError the verdict on the member and epoch when the group is a KIP-848 consumer group (see
     *     {@link ConsumerGroupManager#validateCommit}), null for the classic rules
     */
    OffsetCommitDecision commitOffsets(OffsetCommitRequestData req, Predicate<TopicPartition> topicExists,
            long nowMs, Errors consumerGroupError) {
        ClassicGroup group = groups.get(req.groupId());
        Errors groupError;
        if (consumerGroupError != null) {
            groupError = consumerGroupError;
        } else if (group == null) {
            // A simple (standalone) commit creates the group; a member's commit to an unknown group is stale.
            groupError = req.generationIdOrMemberEpoch() < 0 ? Errors.NONE : Errors.ILLEGAL_GENERATION;
        } else {
            groupError = validateCommit(group, req.memberId(), req.groupInstanceId(),
                    req.generationIdOrMemberEpoch(), false);
        }
        List<GroupRecord> records = new ArrayList<>();
        OffsetCommitResponseData response = new OffsetCommitResponseData();
        for (OffsetCommitRequestData.OffsetCommitRequestTopic topic : req.topics()) {
            OffsetCommitResponseData.OffsetCommitResponseTopic topicResponse =
                    new OffsetCommitResponseData.OffsetCommitResponseTopic().setName(topic.name())
                            .setTopicId(topic.topicId());
            for (OffsetCommitRequestData.OffsetCommitRequestPartition p : topic.partitions()) {
                Errors error = groupError;
                if (error == Errors.NONE && !topicExists.test(new TopicPartition(topic.name(), p.partitionIndex()))) {
                    error = Errors.UNKNOWN_TOPIC_OR_PARTITION;
                }
                if (error == Errors.NONE && p.committedMetadata() != null
                        && p.committedMetadata().length() > config.offsetMetadataMaxSize()) {
                    error = Errors.OFFSET_METADATA_TOO_LARGE;
                }
                if (error == Errors.NONE) {
                    records.add(new OffsetCommitRecord(req.groupId(), topic.name(), p.partitionIndex(),
                            p.committedOffset(), p.committedLeaderEpoch(),
                            p.committedMetadata() == null ? NO_METADATA : p.committedMetadata(), nowMs));
                }
                topicResponse.partitions().add(new OffsetCommitResponseData.OffsetCommitResponsePartition()
                        .setPartitionIndex(p.partitionIndex()).setErrorCode(error.code()));
            }
            response.topics().add(topicResponse);
        }
        return new OffsetCommitDecision(records, response);
    }

    /**
     * Kafka's ClassicGroup.validateOffsetCommit. A transactional commit (TxnOffsetCommit) without member and
     * generation (v0-2 send none) is accepted whatever the group's state, and one during CompletingRebalance too:
     * Kafka enforces neither for transactional commits.
     */
    private static Errors validateCommit(ClassicGroup group, String memberIdOrNull, String groupInstanceId,
            int generation, boolean transactional) {
        if (group.is(Dead.class)) {
            return Errors.COORDINATOR_NOT_AVAILABLE;
        }
        String memberId = memberIdOrNull == null ? "" : memberIdOrNull;
        if (generation < 0 && group.is(Empty.class)) {
            return Errors.NONE; // an admin client or a consumer without group management, while nobody is in
        }
        if (generation >= 0 || !memberId.isEmpty() || groupInstanceId != null) {
            Errors error = MembershipManager.validateMember(group, memberId, groupInstanceId);
            if (error != Errors.NONE) {
                return error;
            }
            if (generation != group.generation) {
                return Errors.ILLEGAL_GENERATION;
            }
        } else if (!transactional && !group.is(Empty.class)) {
            return Errors.UNKNOWN_MEMBER_ID; // a standalone commit while the group has members
        }
        if (!transactional && group.is(CompletingRebalance.class)) {
            return Errors.REBALANCE_IN_PROGRESS; // it has the new generation: let it finish the rebalance
        }
        return Errors.NONE;
    }

    /**
     * TxnOffsetCommit (KIP-98; KIP-447 adds the member and generation from v3), as Kafka's
     * OffsetMetadataManager.commitTransactionalOffset: an unknown group is accepted with generation -1 (a simple
     * group, created when the records are replayed) and refused ILLEGAL_GENERATION otherwise; a known group is
     * validated as a transactional commit; a request without a producer id or epoch is refused
     * INVALID_PRODUCER_ID_MAPPING. The records are committed only when the producer's COMMIT marker is
     * replayed. A commit that would take the group past {@code maxPendingTxnOffsetsPerGroup} pending offsets is
     * refused whole with POLICY_VIOLATION.
     */
    TxnOffsetCommitDecision commitTransactionalOffsets(TxnOffsetCommitRequestData req,
            Predicate<TopicPartition> topicExists, long nowMs, Errors consumerGroupError) {
        Errors groupError;
        ClassicGroup group = req.groupId() == null ? null : groups.get(req.groupId());
        if (req.groupId() == null || req.groupId().isEmpty()) {
            groupError = Errors.INVALID_GROUP_ID;
        } else if (req.producerId() < 0 || req.producerEpoch() < 0) {
            groupError = Errors.INVALID_PRODUCER_ID_MAPPING; // a transactional batch needs a producer id and epoch
        } else if (consumerGroupError != null) {
            groupError = consumerGroupError;
        } else if (group == null) {
            groupError = req.generationId() < 0 ? Errors.NONE : Errors.ILLEGAL_GENERATION;
        } else {
            groupError = validateCommit(group, req.memberId(), req.groupInstanceId(), req.generationId(), true);
        }
        List<GroupRecord> records = new ArrayList<>();
        TxnOffsetCommitResponseData response = new TxnOffsetCommitResponseData();
        Set<TopicPartition> added = new HashSet<>();
        for (TxnOffsetCommitRequestData.TxnOffsetCommitRequestTopic topic : req.topics()) {
            TxnOffsetCommitResponseData.TxnOffsetCommitResponseTopic topicResponse =
                    new TxnOffsetCommitResponseData.TxnOffsetCommitResponseTopic().setName(topic.name());
            for (TxnOffsetCommitRequestData.TxnOffsetCommitRequestPartition p : topic.partitions()) {
                TopicPartition tp = new TopicPartition(topic.name(), p.partitionIndex());
                Errors error = groupError;
                if (error == Errors.NONE && !topicExists.test(tp)) {
                    error = Errors.UNKNOWN_TOPIC_OR_PARTITION;
                }
                if (error == Errors.NONE && p.committedMetadata() != null
                        && p.committedMetadata().length() > config.offsetMetadataMaxSize()) {
                    error = Errors.OFFSET_METADATA_TOO_LARGE;
                }
                if (error == Errors.NONE) {
                    records.add(new OffsetCommitRecord(req.groupId(), topic.name(), p.partitionIndex(),
                            p.committedOffset(), p.committedLeaderEpoch(),
                            p.committedMetadata() == null ? NO_METADATA : p.committedMetadata(), nowMs));
                    if (!pending.has(req.producerId(), req.groupId(), tp)) {
                        added.add(tp);
                    }
                }
                topicResponse.partitions().add(new TxnOffsetCommitResponseData.TxnOffsetCommitResponsePartition()
                        .setPartitionIndex(p.partitionIndex()).setErrorCode(error.code()));
            }
            response.topics().add(topicResponse);
        }
        if (!added.isEmpty()
                && (long) pending.count(req.groupId()) + added.size() > config.maxPendingTxnOffsetsPerGroup()) {
            response.topics().forEach(t -> t.partitions().forEach(p -> {
                if (p.errorCode() == Errors.NONE.code()) {
                    p.setErrorCode(Errors.POLICY_VIOLATION.code());
                }
            }));
            records.clear();
        }
        return new TxnOffsetCommitDecision(req.producerId(), req.producerEpoch(), records, response);
    }

    OffsetFetchResponseData fetchOffsets(OffsetFetchRequestData req, short version) {
        if (version <= 7) {
            List<OffsetFetchResponseData.OffsetFetchResponseTopic> topics = new ArrayList<>();
            List<OffsetFetchRequestData.OffsetFetchRequestTopics> requested = null;
            if (req.topics() != null) {
                requested = new ArrayList<>();
                for (OffsetFetchRequestData.OffsetFetchRequestTopic t : req.topics()) {
                    requested.add(new OffsetFetchRequestData.OffsetFetchRequestTopics().setName(t.name())
                            .setPartitionIndexes(t.partitionIndexes()));
                }
            }
            OffsetFetchResponseData.OffsetFetchResponseGroup result = fetchGroup(req.groupId(), requested,
                    req.requireStable());
            for (OffsetFetchResponseData.OffsetFetchResponseTopics t : result.topics()) {
                List<OffsetFetchResponseData.OffsetFetchResponsePartition> partitions = new ArrayList<>();
                for (OffsetFetchResponseData.OffsetFetchResponsePartitions p : t.partitions()) {
                    partitions.add(new OffsetFetchResponseData.OffsetFetchResponsePartition()
                            .setPartitionIndex(p.partitionIndex()).setCommittedOffset(p.committedOffset())
                            .setCommittedLeaderEpoch(p.committedLeaderEpoch()).setMetadata(p.metadata())
                            .setErrorCode(version < 2 && result.errorCode() != 0 ? result.errorCode()
                                    : p.errorCode()));
                }
                topics.add(new OffsetFetchResponseData.OffsetFetchResponseTopic().setName(t.name())
                        .setPartitions(partitions));
            }
            return new OffsetFetchResponseData().setTopics(topics)
                    .setErrorCode(version >= 2 ? result.errorCode() : 0);
        }
        List<OffsetFetchResponseData.OffsetFetchResponseGroup> results = new ArrayList<>();
        for (OffsetFetchRequestData.OffsetFetchRequestGroup g : req.groups()) {
            results.add(fetchGroup(g.groupId(), g.topics(), req.requireStable()));
        }
        return new OffsetFetchResponseData().setGroups(results);
    }

    /**
     * One group's offsets; {@code topics} null means every committed offset of the group. With
     * {@code requireStable} (KIP-447), a partition with a pending transactional offset of the group answers
     * UNSTABLE_OFFSET_COMMIT (the consumer retries); without, its committed offset.
     */
    private OffsetFetchResponseData.OffsetFetchResponseGroup fetchGroup(String groupId,
            List<OffsetFetchRequestData.OffsetFetchRequestTopics> topics, boolean requireStable) {
        OffsetFetchResponseData.OffsetFetchResponseGroup result =
                new OffsetFetchResponseData.OffsetFetchResponseGroup().setGroupId(groupId);
        ClassicGroup group = groups.get(groupId);
        if (group != null && group.is(Dead.class)) {
            return result.setErrorCode(Errors.GROUP_ID_NOT_FOUND.code());
        }
        Map<TopicPartition, CommittedOffset> offsets = group == null ? Map.of() : group.offsets;
        if (topics == null) {
            Map<String, List<OffsetFetchResponseData.OffsetFetchResponsePartitions>> byTopic = new LinkedHashMap<>();
            offsets.keySet().stream()
                    .sorted(Comparator.comparing(TopicPartition::topic).thenComparing(TopicPartition::partition))
                    .forEach(tp -> byTopic.computeIfAbsent(tp.topic(), t -> new ArrayList<>())
                            .add(partition(tp.partition(), offsets.get(tp),
                                    requireStable && pending.has(groupId, tp))));
            byTopic.forEach((topic, partitions) -> result.topics().add(
                    new OffsetFetchResponseData.OffsetFetchResponseTopics().setName(topic).setPartitions(partitions)));
            return result;
        }
        for (OffsetFetchRequestData.OffsetFetchRequestTopics t : topics) {
            List<OffsetFetchResponseData.OffsetFetchResponsePartitions> partitions = new ArrayList<>();
            for (int partition : t.partitionIndexes()) {
                TopicPartition tp = new TopicPartition(t.name(), partition);
                partitions.add(partition(partition, offsets.get(tp), requireStable && pending.has(groupId, tp)));
            }
            result.topics().add(new OffsetFetchResponseData.OffsetFetchResponseTopics().setName(t.name())
                    .setTopicId(t.topicId() == null ? Uuid.ZERO_UUID : t.topicId()).setPartitions(partitions));
        }
        return result;
    }

    private static OffsetFetchResponseData.OffsetFetchResponsePartitions partition(int partition,
            CommittedOffset offset, boolean unstable) {
        OffsetFetchResponseData.OffsetFetchResponsePartitions p =
                new OffsetFetchResponseData.OffsetFetchResponsePartitions().setPartitionIndex(partition);
        if (unstable) {
            return p.setCommittedOffset(NO_OFFSET).setCommittedLeaderEpoch(NO_LEADER_EPOCH).setMetadata(NO_METADATA)
                    .setErrorCode(Errors.UNSTABLE_OFFSET_COMMIT.code());
        }
        if (offset == null) {
            return p.setCommittedOffset(NO_OFFSET).setCommittedLeaderEpoch(NO_LEADER_EPOCH).setMetadata(NO_METADATA);
        }
        return p.setCommittedOffset(offset.offset()).setCommittedLeaderEpoch(offset.leaderEpoch())
                .setMetadata(offset.metadata());
    }

    GroupDecision<OffsetDeleteResponseData> deleteOffsets(OffsetDeleteRequestData req) {
        ClassicGroup group = groups.get(req.groupId());
        if (group == null || group.is(Dead.class)) {
            return new GroupDecision<>(List.of(),
                    new OffsetDeleteResponseData().setErrorCode(Errors.GROUP_ID_NOT_FOUND.code()));
        }
        if (!group.is(Empty.class) && !group.usesConsumerProtocol()) {
            return new GroupDecision<>(List.of(),
                    new OffsetDeleteResponseData().setErrorCode(Errors.NON_EMPTY_GROUP.code()));
        }
        List<GroupRecord> records = new ArrayList<>();
        OffsetDeleteResponseData response = new OffsetDeleteResponseData();
        for (OffsetDeleteRequestData.OffsetDeleteRequestTopic topic : req.topics()) {
            OffsetDeleteResponseData.OffsetDeleteResponseTopic topicResponse =
                    new OffsetDeleteResponseData.OffsetDeleteResponseTopic().setName(topic.name());
            boolean subscribed = !group.is(Empty.class) && group.isSubscribedToTopic(topic.name());
            for (OffsetDeleteRequestData.OffsetDeleteRequestPartition p : topic.partitions()) {
                Errors error = subscribed ? Errors.GROUP_SUBSCRIBED_TO_TOPIC : Errors.NONE;
                TopicPartition tp = new TopicPartition(topic.name(), p.partitionIndex());
                // As Kafka: a tombstone also when only an open transaction has an offset of the partition.
                if (!subscribed && (group.offsets.containsKey(tp) || pending.has(group.groupId, tp))) {
                    records.add(new OffsetTombstone(group.groupId, topic.name(), p.partitionIndex()));
                }
                topicResponse.partitions().add(new OffsetDeleteResponseData.OffsetDeleteResponsePartition()
                        .setPartitionIndex(p.partitionIndex()).setErrorCode(error.code()));
            }
            response.topics().add(topicResponse);
        }
        return new GroupDecision<>(records, response);
    }

    GroupDecision<DeleteGroupsResponseData> deleteGroups(DeleteGroupsRequestData req) {
        List<GroupRecord> records = new ArrayList<>();
        DeleteGroupsResponseData response = new DeleteGroupsResponseData();
        for (String groupId : req.groupsNames()) {
            ClassicGroup group = groups.get(groupId);
            Errors error = group == null || group.is(Dead.class) ? Errors.GROUP_ID_NOT_FOUND
                    : !group.is(Empty.class) ? Errors.NON_EMPTY_GROUP : Errors.NONE;
            if (error == Errors.NONE) {
                // As Kafka's deleteAllOffsets: the committed offsets and those of open transactions go.
                SortedSet<TopicPartition> partitions = pending.partitions(groupId);
                partitions.addAll(group.offsets.keySet());
                partitions.forEach(tp -> records.add(new OffsetTombstone(groupId, tp.topic(), tp.partition())));
                records.add(new GroupTombstone(groupId));
            }
            if (response.results().find(groupId) == null) {
                response.results().add(new DeleteGroupsResponseData.DeletableGroupResult().setGroupId(groupId)
                        .setErrorCode(error.code()));
            }
        }
        return new GroupDecision<>(records, response);
    }

    /**
     * Kafka's offset expiration: an Empty group's offsets expire {@code offsetsRetentionMs} after it became Empty; a
     * standalone group's (no protocol type) after their commit; a Stable consumer group's offsets of topics no member
     * subscribes to after their commit. An Empty group left without offsets is deleted. As in Kafka, an offset whose
     * partition has a pending transactional offset does not expire, and a group with one is not deleted.
     */
    List<GroupRecord> expireOffsets(long nowMs) {
        List<GroupRecord> records = new ArrayList<>();
        for (ClassicGroup group : groups.values()) {
            List<TopicPartition> expired = new ArrayList<>();
            int consumerMembers = consumerGroupMembers.applyAsInt(group.groupId);
            for (Map.Entry<TopicPartition, CommittedOffset> e : group.offsets.entrySet()) {
                // Kafka's ConsumerGroup.offsetExpirationCondition: while it has members, none; else from the commit
                Long baseMs;
                if (consumerMembers > 0) {
                    baseMs = null;
                } else if (consumerMembers == 0) {
                    baseMs = e.getValue().commitTimestampMs();
                } else {
                    baseMs = expirationBaseMs(group, e.getKey(), e.getValue());
                }
                if (baseMs != null && nowMs - baseMs >= config.offsetsRetentionMs()
                        && !pending.has(group.groupId, e.getKey())) {
                    expired.add(e.getKey());
                }
            }
            expired.sort(Comparator.comparing(TopicPartition::topic).thenComparing(TopicPartition::partition));
            expired.forEach(tp -> records.add(new OffsetTombstone(group.groupId, tp.topic(), tp.partition())));
            if (group.is(Empty.class) && group.offsets.size() == expired.size() && !pending.hasAny(group.groupId)) {
                records.add(new GroupTombstone(group.groupId));
            }
        }
        return records;
    }

    private static Long expirationBaseMs(ClassicGroup group, TopicPartition tp, CommittedOffset offset) {
        if (group.protocolType == null) {
            return offset.commitTimestampMs();
        }
        if (group.is(Empty.class)) {
            return group.stateSinceMs;
        }
        if (group.usesConsumerProtocol() && group.subscribedTopics != null && group.is(Stable.class)
                && !group.subscribedTopics.contains(tp.topic())) {
            return offset.commitTimestampMs();
        }
        return null;
    }
}
