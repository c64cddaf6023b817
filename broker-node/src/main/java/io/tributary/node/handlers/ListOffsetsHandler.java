package io.tributary.node.handlers;

import io.tributary.replication.Partition;
import io.tributary.replication.PartitionId;
import io.tributary.storage.TimestampOffset;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.message.ListOffsetsRequestData;
import org.apache.kafka.common.message.ListOffsetsResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.protocol.Errors;

/**
 * ListOffsets v1-v10, every timestamp spec up to Kafka 4.x's v10: the earliest offset (-2), the latest visible offset
 * (-1: the high watermark, or the last stable offset for read_committed), the first offset whose record timestamp is
 * at or after a given time, and (Kafka answers them at every version; clients send them from the version named)
 * <ul>
 *   <li>-3 max timestamp (v7, KIP-734): the offset and timestamp of the first record with the largest timestamp,
 *       found over the whole log; offset -1 if that record is not visible yet (above the high watermark or LSO);
 *   <li>-4 earliest local (v8, KIP-405): the log start offset, as there is no tiered storage;
 *   <li>-5 latest tiered (v9, KIP-1005): offset -1 and leader epoch -1, Kafka's answer without tiered storage.
 * </ul>
 * v10 only adds a timeout for remote storage reads (KIP-1075), which there are none of. v11's -6 (earliest pending
 * upload, KIP-1023) is not served. Other negative timestamps get INVALID_REQUEST.
 */
public final class ListOffsetsHandler implements ApiHandler {

    static final long LATEST = -1L;
    static final long EARLIEST = -2L;
    static final long MAX_TIMESTAMP = -3L;
    static final long EARLIEST_LOCAL = -4L;
    static final long LATEST_TIERED = -5L;
    /** The response's leader epoch exists from v4; writing it at a lower version is a codec error. */
    static final short LEADER_EPOCH_MIN_VERSION = 4;

    private final NodeServices node;

    public ListOffsetsHandler(NodeServices node) {
        this.node = node;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.LIST_OFFSETS;
    }

    @Override
    public short minVersion() {
        return 1;
    }

    @Override
    public short maxVersion() {
        return 10;
    }

    @Override
    public CompletableFuture<ApiMessage> handle(RequestContext context, ApiMessage message) {
        ListOffsetsRequestData request = (ListOffsetsRequestData) message;
        List<ListOffsetsResponseData.ListOffsetsTopicResponse> topics = new ArrayList<>();
        for (ListOffsetsRequestData.ListOffsetsTopic topic : request.topics()) {
            List<ListOffsetsResponseData.ListOffsetsPartitionResponse> partitions = new ArrayList<>();
            boolean allowed = node.allowedOnTopic(context, AclOperation.DESCRIBE, topic.name());
            for (ListOffsetsRequestData.ListOffsetsPartition p : topic.partitions()) {
                if (!allowed) {
                    partitions.add(new ListOffsetsResponseData.ListOffsetsPartitionResponse()
                            .setPartitionIndex(p.partitionIndex()).setErrorCode(Errors.TOPIC_AUTHORIZATION_FAILED.code())
                            .setOffset(-1).setTimestamp(-1));
                    continue;
                }
                partitions.add(offset(new PartitionId(topic.name(), p.partitionIndex()), p,
                        context.apiVersion() >= LEADER_EPOCH_MIN_VERSION,
                        request.isolationLevel() == org.apache.kafka.common.IsolationLevel.READ_COMMITTED.id()));
            }
            topics.add(new ListOffsetsResponseData.ListOffsetsTopicResponse()
                    .setName(topic.name())
                    .setPartitions(partitions));
        }
        return CompletableFuture.completedFuture(new ListOffsetsResponseData().setTopics(topics));
    }

    private ListOffsetsResponseData.ListOffsetsPartitionResponse offset(PartitionId id,
            ListOffsetsRequestData.ListOffsetsPartition p, boolean withLeaderEpoch, boolean readCommitted) {
        ListOffsetsResponseData.ListOffsetsPartitionResponse response =
                new ListOffsetsResponseData.ListOffsetsPartitionResponse().setPartitionIndex(p.partitionIndex());
        try {
            Partition partition = node.replicas().partition(id);
            partition.checkLeader(p.currentLeaderEpoch());
            response.setTimestamp(-1);
            if (withLeaderEpoch) {
                response.setLeaderEpoch(partition.leaderEpoch());
            }
            long timestamp = p.timestamp();
            // read_committed sees up to the last stable offset (Kafka's ListOffsets with isolation level 1)
            long visibleEnd = readCommitted ? partition.lastStableOffset() : partition.highWatermark();
            if (timestamp == EARLIEST || timestamp == EARLIEST_LOCAL) {
                return response.setOffset(partition.log().logStartOffset());
            }
            if (timestamp == LATEST) {
                return response.setOffset(visibleEnd);
            }
            if (timestamp == LATEST_TIERED) {
                return response.setOffset(-1).setLeaderEpoch(-1);
            }
            if (timestamp < 0 && timestamp != MAX_TIMESTAMP) {
                return response.setErrorCode(Errors.INVALID_REQUEST.code()).setOffset(-1);
            }
            Optional<TimestampOffset> found = timestamp == MAX_TIMESTAMP ? partition.log().offsetOfMaxTimestamp()
                    : partition.log().offsetForTimestamp(timestamp);
            if (found.isEmpty() || found.get().offset() >= visibleEnd) {
                return response.setOffset(-1);
            }
            return response.setTimestamp(found.get().timestamp()).setOffset(found.get().offset());
        } catch (IOException e) {
            return response.setErrorCode(Errors.KAFKA_STORAGE_ERROR.code()).setOffset(-1).setTimestamp(-1);
        } catch (RuntimeException e) {
            return response.setErrorCode(ErrorCodes.of(e).code()).setOffset(-1).setTimestamp(-1);
        }
    }
}
