package io.tributary.node.handlers;

import io.tributary.metadata.Uuids;
import io.tributary.proto.metadata.ControllerErrorCode;
import io.tributary.proto.metadata.CreateTopicResponse;
import io.tributary.proto.metadata.PartitionReplicaAssignment;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.CreateTopicsRequestData;
import org.apache.kafka.common.message.CreateTopicsResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.protocol.Errors;

/**
 * CreateTopics v2-v7: creates topics with a partition count and replication factor (-1: the node's defaults) or
 * with a manual replica assignment (counts -1; the controller checks it as Kafka's does and places the replicas as
 * given), validates topic configs, honours {@code validateOnly}. v5+ responses carry the topic's partitions,
 * replication factor, configs and (v7) id.
 */
public final class CreateTopicsHandler implements ApiHandler {

    private final NodeServices node;
    private final TopicCreator creator;

    public CreateTopicsHandler(NodeServices node) {
        this.node = node;
        this.creator = new TopicCreator(node);
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.CREATE_TOPICS;
    }

    @Override
    public short minVersion() {
        return 2;
    }

    @Override
    public short maxVersion() {
        return 7;
    }

    @Override
    public CompletableFuture<ApiMessage> handle(RequestContext context, ApiMessage message) {
        CreateTopicsRequestData request = (CreateTopicsRequestData) message;
        List<CompletableFuture<CreateTopicsResponseData.CreatableTopicResult>> results = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        boolean clusterCreate = node.allowedOnCluster(context, AclOperation.CREATE);
        for (CreateTopicsRequestData.CreatableTopic topic : request.topics()) {
            if (!seen.add(topic.name())) {
                results.add(CompletableFuture.completedFuture(error(topic.name(), Errors.INVALID_REQUEST,
                        "Duplicate topic name in the request")));
            } else if (!clusterCreate && !node.allowedOnTopic(context, AclOperation.CREATE, topic.name())) {
                // CREATE on the cluster or on the topic, as in Kafka
                results.add(CompletableFuture.completedFuture(error(topic.name(), Errors.TOPIC_AUTHORIZATION_FAILED,
                        "Authorization failed.")));
            } else {
                results.add(create(topic, request.validateOnly(),
                        node.allowedOnTopic(context, AclOperation.DESCRIBE_CONFIGS, topic.name())));
            }
        }
        return CompletableFuture.allOf(results.toArray(CompletableFuture[]::new)).thenApply(v -> {
            CreateTopicsResponseData.CreatableTopicResultCollection collection =
                    new CreateTopicsResponseData.CreatableTopicResultCollection();
            results.forEach(r -> collection.add(r.join()));
            return new CreateTopicsResponseData().setTopics(collection);
        });
    }

    /** {@code showConfigs}: the principal may DESCRIBE_CONFIGS the topic (else Kafka leaves the configs out). */
    private CompletableFuture<CreateTopicsResponseData.CreatableTopicResult> create(
            CreateTopicsRequestData.CreatableTopic topic, boolean validateOnly, boolean showConfigs) {
        Map<String, String> configs = new TreeMap<>();
        for (CreateTopicsRequestData.CreatableTopicConfig c : topic.configs()) {
            configs.put(c.name(), c.value());
        }
        List<PartitionReplicaAssignment> assignments = new ArrayList<>();
        for (CreateTopicsRequestData.CreatableReplicaAssignment a : topic.assignments()) {
            assignments.add(PartitionReplicaAssignment.newBuilder().setPartition(a.partitionIndex())
                    .addAllBrokerIds(a.brokerIds()).build());
        }
        return creator.create(topic.name(), topic.numPartitions(), topic.replicationFactor(), assignments, configs,
                validateOnly)
                .handle((result, failure) -> {
                    if (failure != null) {
                        return error(topic.name(), Errors.REQUEST_TIMED_OUT, "the controller did not answer in time");
                    }
                    if (result.getError() != ControllerErrorCode.NONE) {
                        return error(topic.name(), TopicCreator.error(result), result.getErrorMessage());
                    }
                    CreateTopicsResponseData.CreatableTopicResult created = success(topic.name(), configs,
                            result.getCreateTopic());
                    return showConfigs ? created : created.setConfigs(null)
                            .setTopicConfigErrorCode(Errors.TOPIC_AUTHORIZATION_FAILED.code());
                });
    }

    private CreateTopicsResponseData.CreatableTopicResult success(String name, Map<String, String> overrides,
            CreateTopicResponse created) {
        List<CreateTopicsResponseData.CreatableTopicConfigs> configs = new ArrayList<>();
        Map<String, String> effective = new TreeMap<>(node.replicas().defaultLogConfig().withOverrides(overrides)
                .toKafkaConfigs());
        for (Map.Entry<String, String> e : effective.entrySet()) {
            configs.add(new CreateTopicsResponseData.CreatableTopicConfigs()
                    .setName(e.getKey())
                    .setValue(e.getValue())
                    .setReadOnly(false)
                    .setIsSensitive(false)
                    .setConfigSource(overrides.containsKey(e.getKey()) ? (byte) 1 : (byte) 5));
        }
        return new CreateTopicsResponseData.CreatableTopicResult()
                .setName(name)
                .setTopicId(KafkaIds.toKafka(Uuids.fromProto(created.getTopicId())))
                .setErrorCode(Errors.NONE.code())
                .setNumPartitions(created.getPartitions())
                .setReplicationFactor((short) created.getReplicationFactor())
                .setConfigs(configs);
    }

    private static CreateTopicsResponseData.CreatableTopicResult error(String name, Errors error, String message) {
        return new CreateTopicsResponseData.CreatableTopicResult()
                .setName(name)
                .setTopicId(Uuid.ZERO_UUID)
                .setErrorCode(error.code())
                .setErrorMessage(message)
                .setNumPartitions(-1)
                .setReplicationFactor((short) -1)
                .setConfigs(null);
    }
}
