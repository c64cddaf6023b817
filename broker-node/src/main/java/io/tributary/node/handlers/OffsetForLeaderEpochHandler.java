package io.tributary.node.handlers;

import io.tributary.replication.Partition;
import io.tributary.replication.PartitionId;
import io.tributary.storage.EpochEndOffset;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.message.OffsetForLeaderEpochRequestData;
import org.apache.kafka.common.message.OffsetForLeaderEpochResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.protocol.Errors;

/**
 * OffsetForLeaderEpoch v2-v4 (KIP-101/KIP-320): where a leader epoch ended in the leader's log, which consumers use
 * to detect log truncation after a leader change and followers use to find where their log diverges.
 *
 * <p>Answers as Kafka's {@code Partition.lastOffsetForLeaderEpoch}: the leader only (followers, whose v3+ requests
 * carry their replica id, are served by the leader too), fenced by {@code currentLeaderEpoch}; then the leader-epoch
 * cache's answer ({@code LeaderEpochFileCache.endOffsetFor}, here {@code PartitionLog.endOffsetForEpoch}) for the
 * requested epoch E:
 * <ul>
 * <li>E is the current leader epoch: (E, log end offset);
 * <li>an older epoch: the largest epoch at or below E in the log, and the start offset of the first epoch above E;
 * <li>E older than every epoch in the log (retention removed them): (E, start offset of the first epoch), as Kafka's
 *     code (not its javadoc) answers;
 * <li>E newer than the current leader epoch, or -1: undefined (-1, -1) with error NONE.
 * </ul>
 * The leader's cache holds its current epoch because {@code Partition.becomeLeader} assigns it in the log before it
 * publishes the new leader epoch (Kafka does both under one lock). Called on a network thread; answers at once.
 */
public final class OffsetForLeaderEpochHandler implements ApiHandler {

    private final NodeServices node;

    public OffsetForLeaderEpochHandler(NodeServices node) {
        this.node = node;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.OFFSET_FOR_LEADER_EPOCH;
    }

    @Override
    public short minVersion() {
        return 2;
    }

    @Override
    public short maxVersion() {
        return 4;
    }

    @Override
    public CompletableFuture<ApiMessage> handle(RequestContext context, ApiMessage message) {
        OffsetForLeaderEpochRequestData request = (OffsetForLeaderEpochRequestData) message;
        OffsetForLeaderEpochResponseData.OffsetForLeaderTopicResultCollection topics =
                new OffsetForLeaderEpochResponseData.OffsetForLeaderTopicResultCollection();
        for (OffsetForLeaderEpochRequestData.OffsetForLeaderTopic topic : request.topics()) {
            OffsetForLeaderEpochResponseData.OffsetForLeaderTopicResult result =
                    new OffsetForLeaderEpochResponseData.OffsetForLeaderTopicResult().setTopic(topic.topic());
            boolean allowed = node.allowedOnCluster(context, AclOperation.CLUSTER_ACTION)
                    || node.allowedOnTopic(context, AclOperation.DESCRIBE, topic.topic());
            for (OffsetForLeaderEpochRequestData.OffsetForLeaderPartition p : topic.partitions()) {
                result.partitions().add(allowed ? endOffset(new PartitionId(topic.topic(), p.partition()), p)
                        : new OffsetForLeaderEpochResponseData.EpochEndOffset().setPartition(p.partition())
                                .setErrorCode(Errors.TOPIC_AUTHORIZATION_FAILED.code())
                                .setLeaderEpoch(EpochEndOffset.UNDEFINED_EPOCH)
                                .setEndOffset(EpochEndOffset.UNDEFINED_EPOCH_OFFSET));
            }
            topics.add(result);
        }
        return CompletableFuture.completedFuture(new OffsetForLeaderEpochResponseData().setTopics(topics));
    }

    private OffsetForLeaderEpochResponseData.EpochEndOffset endOffset(PartitionId id,
            OffsetForLeaderEpochRequestData.OffsetForLeaderPartition p) {
        OffsetForLeaderEpochResponseData.EpochEndOffset result =
                new OffsetForLeaderEpochResponseData.EpochEndOffset().setPartition(p.partition());
        try {
            Partition partition = node.replicas().partition(id);
            partition.checkLeader(p.currentLeaderEpoch());
            EpochEndOffset answer = partition.log().endOffsetForEpoch(p.leaderEpoch());
            return result.setErrorCode(Errors.NONE.code())
                    .setLeaderEpoch(answer.epoch())
                    .setEndOffset(answer.endOffset());
        } catch (RuntimeException e) {
            return result.setErrorCode(ErrorCodes.of(e).code())
                    .setLeaderEpoch(EpochEndOffset.UNDEFINED_EPOCH)
                    .setEndOffset(EpochEndOffset.UNDEFINED_EPOCH_OFFSET);
        }
    }
}
