package io.tributary.node.handlers;

import io.tributary.metadata.ControllerDecisions;
import io.tributary.metadata.MetadataImage;
import io.tributary.metadata.PartitionImage;
import io.tributary.metadata.TopicImage;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.internals.Topic;
import org.apache.kafka.common.message.DescribeTopicPartitionsRequestData;
import org.apache.kafka.common.message.DescribeTopicPartitionsResponseData;
import org.apache.kafka.common.message.DescribeTopicPartitionsResponseData.DescribeTopicPartitionsResponsePartition;
import org.apache.kafka.common.message.DescribeTopicPartitionsResponseData.DescribeTopicPartitionsResponseTopic;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.resource.ResourceType;

/**
 * DescribeTopicPartitions v0 (KIP-966; the 4.x admin client's {@code describeTopics}), paged as Kafka's
 * {@code DescribeTopicPartitionsRequestHandler} and {@code KRaftMetadataCache.describeTopicResponse} page it: the
 * named topics (none named: every topic the principal may DESCRIBE) in name order, from the cursor's topic and
 * partition on, at most {@code min(response_partition_limit, 2000)} partitions (at least 1; 2000 is Kafka's
 * {@code max.request.partition.size.limit} default); the answer's cursor names where the next page starts (the
 * next partition of a topic cut short, or partition 0 of the next topic). Each topic carries its authorized
 * operations. A named topic the principal may not DESCRIBE is answered TOPIC_AUTHORIZATION_FAILED after the others,
 * whether it exists or not; an unknown one UNKNOWN_TOPIC_OR_PARTITION (INVALID_TOPIC_EXCEPTION for an illegal name);
 * a cursor whose topic is not among those asked for, or whose partition is negative, gets INVALID_REQUEST for every
 * named topic. There are no eligible leader replicas (KIP-966's ELR is not kept): both ELR lists are empty.
 *
 * <p>Threads: any I/O thread; reads one metadata image.
 */
public final class DescribeTopicPartitionsHandler implements ApiHandler {

    /** Kafka's {@code max.request.partition.size.limit} default: the most partitions one answer carries. */
    static final int MAX_PARTITIONS_PER_RESPONSE = 2000;

    private final NodeServices node;

    public DescribeTopicPartitionsHandler(NodeServices node) {
        this.node = node;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.DESCRIBE_TOPIC_PARTITIONS;
    }

    @Override
    public short minVersion() {
        return 0;
    }

    @Override
    public short maxVersion() {
        return 0;
    }

    @Override
    public CompletableFuture<ApiMessage> handle(RequestContext context, ApiMessage message) {
        DescribeTopicPartitionsRequestData request = (DescribeTopicPartitionsRequestData) message;
        MetadataImage image = node.metadata().image();
        boolean allTopics = request.topics().isEmpty();
        TreeSet<String> names = new TreeSet<>();
        if (allTopics) {
            names.addAll(image.topics().keySet());
        } else {
            request.topics().forEach(t -> names.add(t.name()));
        }
        DescribeTopicPartitionsRequestData.Cursor cursor = request.cursor();
        if (cursor != null && (!names.contains(cursor.topicName()) || cursor.partitionIndex() < 0)) {
            return CompletableFuture.completedFuture(invalid(request));
        }
        List<DescribeTopicPartitionsResponseTopic> refused = new ArrayList<>();
        DescribeTopicPartitionsResponseData response = new DescribeTopicPartitionsResponseData();
        int remaining = Math.max(Math.min(MAX_PARTITIONS_PER_RESPONSE, request.responsePartitionLimit()), 1);
        for (String name : names) {
            if (!node.allowedOnTopic(context, AclOperation.DESCRIBE, name)) {
                if (!allTopics) {
                    refused.add(topicError(name, Errors.TOPIC_AUTHORIZATION_FAILED));
                }
                continue;
            }
            if (cursor != null && name.compareTo(cursor.topicName()) < 0) {
                continue;
            }
            if (remaining == 0) {
                // The page is full at a topic boundary: the next one starts at this topic's first partition.
                response.setNextCursor(new DescribeTopicPartitionsResponseData.Cursor().setTopicName(name)
                        .setPartitionIndex(0));
                break;
            }
            TopicImage topic = image.topic(name);
            if (topic == null) {
                if (!allTopics) {
                    response.topics().add(topicError(name, ControllerDecisions.topicNameProblem(name) == null
                            ? Errors.UNKNOWN_TOPIC_OR_PARTITION : Errors.INVALID_TOPIC_EXCEPTION)
                            .setTopicAuthorizedOperations(authorizedOperations(context, name)));
                }
                continue;
            }
            int start = cursor != null && name.equals(cursor.topicName()) ? cursor.partitionIndex() : 0;
            int end = Math.min(topic.partitions().size(), start + remaining);
            List<DescribeTopicPartitionsResponsePartition> partitions = new ArrayList<>();
            for (int p = start; p < end; p++) {
                partitions.add(partition(image, topic.partitions().get(p)));
            }
            response.topics().add(new DescribeTopicPartitionsResponseTopic()
                    .setErrorCode(Errors.NONE.code())
                    .setName(name)
                    .setTopicId(KafkaIds.toKafka(topic.topicId()))
                    .setIsInternal(Topic.isInternal(name))
                    .setPartitions(partitions)
                    .setTopicAuthorizedOperations(authorizedOperations(context, name)));
            if (end < topic.partitions().size()) {
                response.setNextCursor(new DescribeTopicPartitionsResponseData.Cursor().setTopicName(name)
                        .setPartitionIndex(end));
                break;
            }
            remaining -= partitions.size();
        }
        refused.forEach(t -> response.topics().add(t));
        return CompletableFuture.completedFuture(response);
    }

    private int authorizedOperations(RequestContext context, String topic) {
        return node.authorizedOperations(context, ResourceType.TOPIC, topic);
    }

    private static DescribeTopicPartitionsResponsePartition partition(MetadataImage image, PartitionImage p) {
        return new DescribeTopicPartitionsResponsePartition()
                .setPartitionIndex(p.partition())
                .setErrorCode(p.hasLeader() ? Errors.NONE.code() : Errors.LEADER_NOT_AVAILABLE.code())
                .setLeaderId(p.leader())
                .setLeaderEpoch(p.leaderEpoch())
                .setReplicaNodes(p.replicas())
                .setIsrNodes(p.isr())
                .setEligibleLeaderReplicas(List.of())
                .setLastKnownElr(List.of())
                .setOfflineReplicas(MetadataHandler.offlineReplicas(image, p));
    }

    private static DescribeTopicPartitionsResponseTopic topicError(String name, Errors error) {
        return new DescribeTopicPartitionsResponseTopic().setErrorCode(error.code()).setName(name)
                .setTopicId(Uuid.ZERO_UUID).setIsInternal(false).setPartitions(List.of());
    }

    /** Kafka's error response: every named topic with INVALID_REQUEST. */
    private static DescribeTopicPartitionsResponseData invalid(DescribeTopicPartitionsRequestData request) {
        DescribeTopicPartitionsResponseData response = new DescribeTopicPartitionsResponseData();
        request.topics().forEach(t -> response.topics().add(topicError(t.name(), Errors.INVALID_REQUEST)));
        return response;
    }
}
