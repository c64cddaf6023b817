package io.tributary.node.handlers;

import io.tributary.metadata.ControllerDecisions;
import io.tributary.replication.Partition;
import io.tributary.replication.PartitionId;
import io.tributary.storage.ProducerStateManager;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.message.DescribeProducersRequestData;
import org.apache.kafka.common.message.DescribeProducersResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.Errors;

/**
 * DescribeProducers v0 (KIP-664; {@code kafka-transactions describe-producers}, {@code Admin.describeProducers}): the
 * active producers of each requested partition, from its log's producer state ({@link ProducerStateManager}):
 * producer id and epoch, last sequence and timestamp, the coordinator epoch of the last marker, and the first offset
 * of the producer's ongoing transaction in the partition (-1: none).
 *
 * <p>Checks, per topic, in Kafka's order ({@code KafkaApis.handleDescribeProducersRequest}): a legal topic name
 * (INVALID_TOPIC_EXCEPTION), READ on the topic (TOPIC_AUTHORIZATION_FAILED); then per partition: it exists
 * (UNKNOWN_TOPIC_OR_PARTITION) and this node hosts a replica of it (NOT_LEADER_OR_FOLLOWER). As in Kafka
 * ({@code Partition.activeProducerState} reads any local log), a follower answers from its own replica too, for the
 * admin client's {@code brokerId} option ({@code kafka-transactions describe-producers --broker-id}).
 *
 * <p>Bounds: the partitions of a request are bounded by its size ({@code socket.request.max.bytes}); the producers of
 * a partition by its producer state's bound (producers expire after {@code producer.id.expiration.ms}).
 *
 * <p>Threads: runs on an I/O thread and answers at once. The producer state's accessors are safe from any thread:
 * its entries are immutable and swapped atomically by appends, and {@link ProducerStateManager#entries} is a copy.
 */
public final class DescribeProducersHandler implements ApiHandler {

    private final NodeServices node;

    public DescribeProducersHandler(NodeServices node) {
        this.node = node;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.DESCRIBE_PRODUCERS;
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
        DescribeProducersRequestData request = (DescribeProducersRequestData) message;
        DescribeProducersResponseData response = new DescribeProducersResponseData();
        for (DescribeProducersRequestData.TopicRequest topic : request.topics()) {
            DescribeProducersResponseData.TopicResponse result =
                    new DescribeProducersResponseData.TopicResponse().setName(topic.name());
            DescribeProducersResponseData.PartitionResponse topicError = topicError(context, topic.name());
            for (int index : topic.partitionIndexes()) {
                result.partitions().add(topicError == null ? activeProducers(new PartitionId(topic.name(), index))
                        : topicError.duplicate().setPartitionIndex(index));
            }
            response.topics().add(result);
        }
        return CompletableFuture.completedFuture(response);
    }

    /** The answer for every partition of the topic when the topic itself is refused, else null. */
    private DescribeProducersResponseData.PartitionResponse topicError(RequestContext context, String topic) {
        String nameProblem = ControllerDecisions.topicNameProblem(topic);
        if (nameProblem != null) {
            return error(-1, Errors.INVALID_TOPIC_EXCEPTION, nameProblem);
        }
        if (!node.allowedOnTopic(context, AclOperation.READ, topic)) {
            return error(-1, Errors.TOPIC_AUTHORIZATION_FAILED, Errors.TOPIC_AUTHORIZATION_FAILED.message());
        }
        return null;
    }

    private DescribeProducersResponseData.PartitionResponse activeProducers(PartitionId id) {
        try {
            Partition partition = node.replicas().partition(id);
            List<ProducerStateManager.ProducerEntry> entries =
                    new ArrayList<>(partition.log().producerState().entries().values());
            entries.sort(Comparator.comparingLong(ProducerStateManager.ProducerEntry::producerId));
            List<DescribeProducersResponseData.ProducerState> producers = new ArrayList<>(entries.size());
            for (ProducerStateManager.ProducerEntry entry : entries) {
                producers.add(state(entry));
            }
            return new DescribeProducersResponseData.PartitionResponse().setPartitionIndex(id.partition())
                    .setErrorCode(Errors.NONE.code()).setActiveProducers(producers);
        } catch (RuntimeException e) {
            // Kafka's ReplicaManager.activeProducerState answers these without a message
            return error(id.partition(), ErrorCodes.of(e), null);
        }
    }

    /** Kafka's {@code UnifiedLog.activeProducers} for one entry. */
    private static DescribeProducersResponseData.ProducerState state(ProducerStateManager.ProducerEntry entry) {
        return new DescribeProducersResponseData.ProducerState()
                .setProducerId(entry.producerId())
                .setProducerEpoch(entry.producerEpoch())
                .setLastSequence(entry.lastSequence())
                .setLastTimestamp(entry.lastTimestamp())
                .setCoordinatorEpoch(entry.coordinatorEpoch())
                .setCurrentTxnStartOffset(entry.currentTxnFirstOffset());
    }

    private static DescribeProducersResponseData.PartitionResponse error(int index, Errors error, String message) {
        return new DescribeProducersResponseData.PartitionResponse().setPartitionIndex(index)
                .setErrorCode(error.code()).setErrorMessage(message);
    }
}
