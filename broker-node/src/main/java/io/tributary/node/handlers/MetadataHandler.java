package io.tributary.node.handlers;

import io.tributary.metadata.BrokerRegistration;
import io.tributary.metadata.ControllerDecisions;
import io.tributary.metadata.MetadataImage;
import io.tributary.metadata.PartitionImage;
import io.tributary.metadata.TopicImage;
import io.tributary.proto.metadata.ControllerErrorCode;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.MetadataRequestData;
import org.apache.kafka.common.message.MetadataResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import io.tributary.node.security.NodeAuthorizer;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.protocol.Errors;

/**
 * Metadata v0-v13: live brokers, the controller, and topics with their partitions' leader, epochs, replicas and ISR.
 * A missing topic is created when {@code auto.create.topics.enable} is on and the client allows it (v4+; always
 * for v0-v3), as Kafka does.
 */
public final class MetadataHandler implements ApiHandler {

    private final NodeServices node;
    private final TopicCreator creator;

    public MetadataHandler(NodeServices node) {
        this.node = node;
        this.creator = new TopicCreator(node);
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.METADATA;
    }

    @Override
    public short minVersion() {
        return 0;
    }

    @Override
    public short maxVersion() {
        return 13;
    }

    @Override
    public CompletableFuture<ApiMessage> handle(RequestContext context, ApiMessage message) {
        MetadataRequestData request = (MetadataRequestData) message;
        short version = context.apiVersion();
        boolean allTopics = request.topics() == null || (version == 0 && request.topics().isEmpty());
        boolean autoCreate = node.config().autoCreateTopicsEnable()
                && (version < 4 || request.allowAutoTopicCreation());
        if (allTopics) {
            return CompletableFuture.completedFuture(withAuthorizedOperations(context, request,
                    response(node.metadata().image(), context.listenerName(), allTopicResponses(context))));
        }
        List<CompletableFuture<MetadataResponseData.MetadataResponseTopic>> topics = new ArrayList<>();
        for (MetadataRequestData.MetadataRequestTopic requested : request.topics()) {
            topics.add(topic(context, requested, autoCreate));
        }
        return CompletableFuture.allOf(topics.toArray(CompletableFuture[]::new)).thenApply(v -> {
            MetadataResponseData.MetadataResponseTopicCollection collection =
                    new MetadataResponseData.MetadataResponseTopicCollection();
            topics.forEach(t -> collection.add(t.join()));
            return withAuthorizedOperations(context, request,
                    response(node.metadata().image(), context.listenerName(), collection));
        });
    }

    /** The authorized-operations fields the client asked for (v8+); Kafka's MIN_VALUE default otherwise. */
    private MetadataResponseData withAuthorizedOperations(RequestContext context, MetadataRequestData request,
            MetadataResponseData response) {
        if (context.apiVersion() >= 8 && request.includeTopicAuthorizedOperations()) {
            for (MetadataResponseData.MetadataResponseTopic t : response.topics()) {
                if (t.errorCode() != Errors.TOPIC_AUTHORIZATION_FAILED.code() && t.name() != null) {
                    t.setTopicAuthorizedOperations(node.authorizedOperations(context, ResourceType.TOPIC,
                            t.name()));
                }
            }
        }
        if (context.apiVersion() >= 8 && context.apiVersion() <= 10
                && request.includeClusterAuthorizedOperations()) {
            response.setClusterAuthorizedOperations(!node.allowedOnCluster(context, AclOperation.DESCRIBE) ? 0
                    : node.authorizedOperations(context, ResourceType.CLUSTER, NodeAuthorizer.CLUSTER_NAME));
        }
        return response;
    }

    /** Every topic the principal may DESCRIBE; the others are left out, as in Kafka. */
    private MetadataResponseData.MetadataResponseTopicCollection allTopicResponses(RequestContext context) {
        MetadataResponseData.MetadataResponseTopicCollection collection =
                new MetadataResponseData.MetadataResponseTopicCollection();
        for (TopicImage topic : node.metadata().image().topics().values()) {
            if (node.allowedOnTopic(context, AclOperation.DESCRIBE, topic.name())) {
                collection.add(describe(topic));
            }
        }
        return collection;
    }

    /**
     * One requested topic. As in Kafka: a topic the principal may not DESCRIBE is answered
     * TOPIC_AUTHORIZATION_FAILED whether it exists or not, and auto-creation needs CREATE on the cluster or topic.
     */
    private CompletableFuture<MetadataResponseData.MetadataResponseTopic> topic(RequestContext context,
            MetadataRequestData.MetadataRequestTopic requested, boolean autoCreate) {
        MetadataImage image = node.metadata().image();
        // By id (v12+): kafka-clients leaves the name at its default "" (a KIP-848 regex subscriber asks so for the
        // topics of its assignment).
        boolean byTopicId = requested.topicId() != null && !Uuid.ZERO_UUID.equals(requested.topicId())
                && (requested.name() == null || requested.name().isEmpty());
        if (requested.name() == null || byTopicId) {
            Uuid id = requested.topicId();
            TopicImage byId = id == null ? null : image.topic(KafkaIds.fromKafka(id));
            if (byId == null) {
                return CompletableFuture.completedFuture(new MetadataResponseData.MetadataResponseTopic()
                        .setTopicId(id == null ? Uuid.ZERO_UUID : id)
                        .setErrorCode(Errors.UNKNOWN_TOPIC_ID.code()));
            }
            if (!node.allowedOnTopic(context, AclOperation.DESCRIBE, byId.name())) {
                return CompletableFuture.completedFuture(new MetadataResponseData.MetadataResponseTopic()
                        .setTopicId(id).setErrorCode(Errors.TOPIC_AUTHORIZATION_FAILED.code()));
            }
            return CompletableFuture.completedFuture(describe(byId));
        }
        String name = requested.name();
        if (!node.allowedOnTopic(context, AclOperation.DESCRIBE, name)) {
            return CompletableFuture.completedFuture(error(name, Errors.TOPIC_AUTHORIZATION_FAILED));
        }
        TopicImage topic = image.topic(name);
        if (topic != null) {
            return CompletableFuture.completedFuture(describe(topic));
        }
        if (ControllerDecisions.topicNameProblem(name) != null) {
            return CompletableFuture.completedFuture(error(name, Errors.INVALID_TOPIC_EXCEPTION));
        }
        if (!autoCreate) {
            return CompletableFuture.completedFuture(error(name, Errors.UNKNOWN_TOPIC_OR_PARTITION));
        }
        if (!node.allowedOnCluster(context, AclOperation.CREATE)
                && !node.allowedOnTopic(context, AclOperation.CREATE, name)) {
            return CompletableFuture.completedFuture(error(name, Errors.TOPIC_AUTHORIZATION_FAILED));
        }
        return creator.create(name, -1, -1, java.util.Map.of(), false).handle((created, failure) -> {
            TopicImage now = node.metadata().image().topic(name);
            if (now != null) {
                return describe(now);
            }
            // Not visible here yet (or the controller is away): the client retries, as with Kafka.
            boolean refused = failure == null && created.getError() != ControllerErrorCode.NONE
                    && created.getError() != ControllerErrorCode.TOPIC_ALREADY_EXISTS;
            return error(name, refused ? TopicCreator.error(created) : Errors.LEADER_NOT_AVAILABLE);
        });
    }

    private static MetadataResponseData.MetadataResponseTopic error(String name, Errors error) {
        return new MetadataResponseData.MetadataResponseTopic()
                .setName(name)
                .setTopicId(Uuid.ZERO_UUID)
                .setErrorCode(error.code());
    }

    private MetadataResponseData.MetadataResponseTopic describe(TopicImage topic) {
        MetadataImage image = node.metadata().image();
        List<MetadataResponseData.MetadataResponsePartition> partitions = new ArrayList<>();
        for (PartitionImage p : topic.partitions()) {
            List<Integer> offline = offlineReplicas(image, p);
            partitions.add(new MetadataResponseData.MetadataResponsePartition()
                    .setPartitionIndex(p.partition())
                    .setErrorCode(p.hasLeader() ? Errors.NONE.code() : Errors.LEADER_NOT_AVAILABLE.code())
                    .setLeaderId(p.leader())
                    .setLeaderEpoch(p.leaderEpoch())
                    .setReplicaNodes(p.replicas())
                    .setIsrNodes(p.isr())
                    .setOfflineReplicas(offline));
        }
        return new MetadataResponseData.MetadataResponseTopic()
                .setName(topic.name())
                .setTopicId(KafkaIds.toKafka(topic.topicId()))
                .setErrorCode(Errors.NONE.code())
                .setIsInternal(topic.name().startsWith("__"))
                .setPartitions(partitions);
    }

    /** The replicas of {@code p} on brokers that are fenced or no longer registered, as Kafka lists them. */
    static List<Integer> offlineReplicas(MetadataImage image, PartitionImage p) {
        List<Integer> offline = new ArrayList<>();
        for (int replica : p.replicas()) {
            BrokerRegistration b = image.brokers().get(replica);
            if (b == null || b.fenced()) {
                offline.add(replica);
            }
        }
        return offline;
    }

    private MetadataResponseData response(MetadataImage image, String listenerName,
            MetadataResponseData.MetadataResponseTopicCollection topics) {
        MetadataResponseData.MetadataResponseBrokerCollection brokers =
                new MetadataResponseData.MetadataResponseBrokerCollection();
        for (BrokerRegistration b : image.liveBrokers()) {
            // The broker's endpoint on the listener this request came in on; a broker without one is not listed.
            BrokerRegistration.BrokerEndpoint e = b.endpoint(listenerName).orElse(null);
            if (e == null) {
                continue;
            }
            brokers.add(new MetadataResponseData.MetadataResponseBroker()
                    .setNodeId(b.brokerId())
                    .setHost(e.host())
                    .setPort(e.port())
                    .setRack(b.rack().isEmpty() ? null : b.rack()));
        }
        return new MetadataResponseData()
                .setBrokers(brokers)
                .setClusterId(node.clusterId())
                .setControllerId(node.metadata().controllerId())
                .setTopics(topics);
    }
}
