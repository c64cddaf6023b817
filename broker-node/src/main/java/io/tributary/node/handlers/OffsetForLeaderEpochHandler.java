package io.tributary.node.handlers;

import io.tributary.replication.Partition;
import io.tributary.replication.PartitionId;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.message.OffsetForLeaderEpochRequestData;
import org.apache.kafka.common.message.OffsetForLeaderEpochResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.Errors;

/**
 * OffsetForLeaderEpoch v2-v4 (KIP-101/KIP-320): the end offset of a leader epoch, which consumers use to detect
 * log truncation after a leader change. A node that has led a partition in one epoch only (every partition of a
 * single node) answers: the requested epoch's end is the log end offset if it is the current epoch or older, and
 * undefined (-1, -1) for a newer epoch. The per-epoch history arrives with replication's leader-epoch checkpoint.
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
            for (OffsetForLeaderEpochRequestData.OffsetForLeaderPartition p : topic.partitions()) {
                result.partitions().add(endOffset(new PartitionId(topic.topic(), p.partition()), p));
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
            if (p.leaderEpoch() > partition.leaderEpoch()) {
                return result.setErrorCode(Errors.NONE.code()).setLeaderEpoch(-1).setEndOffset(-1);
            }
            return result.setErrorCode(Errors.NONE.code())
                    .setLeaderEpoch(partition.leaderEpoch())
                    .setEndOffset(partition.log().logEndOffset());
        } catch (RuntimeException e) {
            return result.setErrorCode(ErrorCodes.of(e).code()).setLeaderEpoch(-1).setEndOffset(-1);
        }
    }
}
