package io.tributary.node.handlers;

import io.tributary.metadata.TopicImage;
import io.tributary.replication.Partition;
import io.tributary.replication.PartitionId;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.internals.Topic;
import org.apache.kafka.common.message.DeleteRecordsRequestData;
import org.apache.kafka.common.message.DeleteRecordsResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.Errors;

/**
 * DeleteRecords v0-v2 (all of Kafka's): moves each partition's log start offset on its leader
 * ({@link Partition#deleteRecords}), which answers once every in-sync replica's log start offset has reached it
 * (Kafka's {@code DelayedDeleteRecords}), or REQUEST_TIMED_OUT after the request's timeout. As Kafka's
 * {@code KafkaApis.handleDeleteRecordsRequest} and {@code ReplicaManager.deleteRecords}: DELETE on the topic
 * (TOPIC_AUTHORIZATION_FAILED), a partition the metadata does not know is UNKNOWN_TOPIC_OR_PARTITION, internal topics
 * are refused (INVALID_TOPIC_EXCEPTION), so is a topic whose {@code cleanup.policy} lacks {@code delete}
 * (POLICY_VIOLATION), an offset above the high watermark or negative other than -1 is
 * OFFSET_OUT_OF_RANGE, a replica that does not lead is NOT_LEADER_OR_FOLLOWER. Failed partitions answer low
 * watermark -1.
 */
public final class DeleteRecordsHandler implements ApiHandler {

    private static final long INVALID_LOW_WATERMARK = -1L;

    private final NodeServices node;

    public DeleteRecordsHandler(NodeServices node) {
        this.node = node;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.DELETE_RECORDS;
    }

    @Override
    public short minVersion() {
        return 0;
    }

    @Override
    public short maxVersion() {
        return 2;
    }

    @Override
    public CompletableFuture<ApiMessage> handle(RequestContext context, ApiMessage message) {
        DeleteRecordsRequestData request = (DeleteRecordsRequestData) message;
        int timeoutMs = Math.max(0, request.timeoutMs());
        List<String> names = new ArrayList<>();
        List<List<CompletableFuture<DeleteRecordsResponseData.DeleteRecordsPartitionResult>>> results =
                new ArrayList<>();
        List<CompletableFuture<?>> all = new ArrayList<>();
        for (DeleteRecordsRequestData.DeleteRecordsTopic topic : request.topics()) {
            boolean allowed = node.allowedOnTopic(context, AclOperation.DELETE, topic.name());
            TopicImage image = node.metadata().image().topic(topic.name());
            List<CompletableFuture<DeleteRecordsResponseData.DeleteRecordsPartitionResult>> partitions =
                    new ArrayList<>();
            for (DeleteRecordsRequestData.DeleteRecordsPartition p : topic.partitions()) {
                CompletableFuture<DeleteRecordsResponseData.DeleteRecordsPartitionResult> result;
                if (!allowed) {
                    result = done(failed(p.partitionIndex(), Errors.TOPIC_AUTHORIZATION_FAILED));
                } else if (image == null || image.partition(p.partitionIndex()) == null) {
                    result = done(failed(p.partitionIndex(), Errors.UNKNOWN_TOPIC_OR_PARTITION));
                } else if (Topic.isInternal(topic.name())) {
                    result = done(failed(p.partitionIndex(), Errors.INVALID_TOPIC_EXCEPTION));
                } else {
                    result = delete(new PartitionId(topic.name(), p.partitionIndex()), p.offset(), timeoutMs);
                }
                partitions.add(result);
                all.add(result);
            }
            names.add(topic.name());
            results.add(partitions);
        }
        return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).thenApply(v -> {
            DeleteRecordsResponseData.DeleteRecordsTopicResultCollection topics =
                    new DeleteRecordsResponseData.DeleteRecordsTopicResultCollection();
            for (int i = 0; i < names.size(); i++) {
                DeleteRecordsResponseData.DeleteRecordsTopicResult topic =
                        new DeleteRecordsResponseData.DeleteRecordsTopicResult().setName(names.get(i));
                DeleteRecordsResponseData.DeleteRecordsPartitionResultCollection partitions =
                        new DeleteRecordsResponseData.DeleteRecordsPartitionResultCollection();
                results.get(i).forEach(r -> partitions.mustAdd(r.join()));
                topics.mustAdd(topic.setPartitions(partitions));
            }
            return new DeleteRecordsResponseData().setTopics(topics);
        });
    }

    private CompletableFuture<DeleteRecordsResponseData.DeleteRecordsPartitionResult> delete(PartitionId id,
            long offset, int timeoutMs) {
        CompletableFuture<Long> lowWatermark;
        try {
            Partition partition = node.replicas().partition(id);
            if (partition.isLeader() && partition.log() != null && !partition.log().compaction().delete()) {
                // Kafka's Partition.deleteRecordsOnLeader: only a log whose cleanup.policy has delete
                return done(failed(id.partition(), Errors.POLICY_VIOLATION));
            }
            lowWatermark = partition.deleteRecords(offset);
        } catch (IOException e) {
            return done(failed(id.partition(), Errors.KAFKA_STORAGE_ERROR));
        } catch (RuntimeException e) {
            return done(failed(id.partition(), ErrorCodes.of(e)));
        }
        return lowWatermark.orTimeout(timeoutMs, TimeUnit.MILLISECONDS).handle((low, error) -> {
            if (error == null) {
                return new DeleteRecordsResponseData.DeleteRecordsPartitionResult()
                        .setPartitionIndex(id.partition()).setLowWatermark(low);
            }
            Throwable cause = error instanceof CompletionException && error.getCause() != null
                    ? error.getCause() : error;
            if (cause instanceof TimeoutException) {
                return failed(id.partition(), Errors.REQUEST_TIMED_OUT);
            }
            if (cause instanceof io.tributary.replication.ReplicaException
                    || cause instanceof io.tributary.storage.LogException) {
                return failed(id.partition(), ErrorCodes.of((RuntimeException) cause));
            }
            return failed(id.partition(), Errors.UNKNOWN_SERVER_ERROR);
        });
    }

    private static DeleteRecordsResponseData.DeleteRecordsPartitionResult failed(int partition, Errors error) {
        return new DeleteRecordsResponseData.DeleteRecordsPartitionResult().setPartitionIndex(partition)
                .setLowWatermark(INVALID_LOW_WATERMARK).setErrorCode(error.code());
    }

    private static <T> CompletableFuture<T> done(T value) {
        return CompletableFuture.completedFuture(value);
    }
}
