package io.tributary.node.handlers;

import io.tributary.metadata.BrokerRegistration;
import io.tributary.node.group.GroupService;
import io.tributary.proto.metadata.ControllerErrorCode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.message.FindCoordinatorRequestData;
import org.apache.kafka.common.message.FindCoordinatorResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.resource.ResourceType;

/**
 * FindCoordinator v0-v6 (v4+ batched): the coordinator of a group is the leader of its {@code __consumer_offsets}
 * partition, that of a transactional id the leader of its {@code __transaction_state} partition. Each topic is
 * created on first use ({@code offsets.topic.num.partitions} or {@code transaction.state.log.num.partitions},
 * replication factor min(the configured one, live brokers)), compacted as in Kafka.
 */
public final class FindCoordinatorHandler implements ApiHandler {

    /**
     * Kafka's configs of {@code __consumer_offsets}: compacted (each group's and each committed offset's latest
     * record; tombstones of expired offsets and deleted groups go after {@code delete.retention.ms}), segments of
     * {@code offsets.topic.segment.bytes} (100 MiB) so that closed segments can be compacted. A cluster whose topic
     * was created before (retention.ms=-1, never deleted nor compacted) keeps its configs.
     */
    static final Map<String, String> OFFSETS_TOPIC_CONFIGS = Map.of("cleanup.policy", "compact",
            "segment.bytes", "104857600", "compression.type", "producer");

    private static final byte GROUP_KEY = 0;
    private static final byte TRANSACTION_KEY = 1;

    private final NodeServices node;
    private final GroupService groups;
    private final io.tributary.node.txn.TransactionService txns;
    private final TopicCreator creator;

    public FindCoordinatorHandler(NodeServices node, GroupService groups,
            io.tributary.node.txn.TransactionService txns) {
        this.node = node;
        this.groups = groups;
        this.txns = txns;
        this.creator = new TopicCreator(node);
    }

    /**
     * Kafka's configs of {@code __transaction_state}: compacted (each transactional id's latest state), segments of
     * {@code transaction.state.log.segment.bytes}, {@code min.insync.replicas} of {@code transaction.state.log.min.isr}
     * (at most the replication factor).
     */
    private Map<String, String> transactionTopicConfigs(int replicationFactor) {
        io.tributary.node.NodeConfig.Transactions t = node.config().transactions();
        return Map.of("cleanup.policy", "compact", "segment.bytes", Integer.toString(t.stateLogSegmentBytes()),
                "min.insync.replicas", Integer.toString(Math.min(t.stateLogMinIsr(), replicationFactor)),
                "compression.type", "producer");
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.FIND_COORDINATOR;
    }

    @Override
    public short minVersion() {
        return 0;
    }

    @Override
    public short maxVersion() {
        return 6;
    }

    @Override
    public CompletableFuture<ApiMessage> handle(RequestContext context, ApiMessage message) {
        FindCoordinatorRequestData request = (FindCoordinatorRequestData) message;
        boolean batched = context.apiVersion() >= 4;
        List<String> keys = batched ? request.coordinatorKeys() : List.of(request.key());
        // Authorization first (Kafka's order): a client allowed no key does not get __consumer_offsets created.
        boolean anyAllowed = keys.stream().anyMatch(key -> allowed(context, request.keyType(), key));
        if (request.keyType() != GROUP_KEY && request.keyType() != TRANSACTION_KEY) {
            return CompletableFuture.completedFuture(notServed(keys, batched, Errors.INVALID_REQUEST,
                    "unknown coordinator key type " + request.keyType()));
        }
        CompletableFuture<Boolean> topic = !anyAllowed ? CompletableFuture.completedFuture(false)
                : request.keyType() == GROUP_KEY ? ensureTopic() : ensureTransactionTopic();
        return topic.thenApply(ready -> {
            List<FindCoordinatorResponseData.Coordinator> found = new ArrayList<>();
            for (String key : keys) {
                // DESCRIBE on the group (or transactional id) first: a refused client learns nothing more.
                found.add(allowed(context, request.keyType(), key) ? locate(key, request.keyType(), ready, context.listenerName())
                        : new FindCoordinatorResponseData.Coordinator().setKey(key).setNodeId(-1).setHost("")
                                .setPort(-1).setErrorCode(request.keyType() == GROUP_KEY
                                        ? Errors.GROUP_AUTHORIZATION_FAILED.code()
                                        : Errors.TRANSACTIONAL_ID_AUTHORIZATION_FAILED.code()));
            }
            if (batched) {
                return new FindCoordinatorResponseData().setCoordinators(found);
            }
            FindCoordinatorResponseData.Coordinator c = found.get(0);
            return new FindCoordinatorResponseData().setErrorCode(c.errorCode()).setErrorMessage(c.errorMessage())
                    .setNodeId(c.nodeId()).setHost(c.host()).setPort(c.port());
        });
    }

    private static FindCoordinatorResponseData notServed(List<String> keys, boolean batched, Errors error,
            String message) {
        if (!batched) {
            return new FindCoordinatorResponseData().setErrorCode(error.code()).setErrorMessage(message)
                    .setNodeId(-1).setHost("").setPort(-1);
        }
        FindCoordinatorResponseData response = new FindCoordinatorResponseData();
        for (String key : keys) {
            response.coordinators().add(new FindCoordinatorResponseData.Coordinator().setKey(key).setNodeId(-1)
                    .setHost("").setPort(-1).setErrorCode(error.code()).setErrorMessage(message));
        }
        return response;
    }

    /** Creates {@code __transaction_state} if it does not exist yet; completes with whether it exists now. */
    private CompletableFuture<Boolean> ensureTransactionTopic() {
        if (txns.topicExists()) {
            return CompletableFuture.completedFuture(true);
        }
        io.tributary.node.NodeConfig.Transactions t = node.config().transactions();
        int live = node.metadata().image().liveBrokers().size();
        int rf = Math.max(1, Math.min(t.stateLogReplicationFactor(), live));
        return creator.create(io.tributary.node.txn.TransactionService.TOPIC, t.stateLogNumPartitions(), rf,
                transactionTopicConfigs(rf), false).handle((r, e) -> e == null
                        && (r.getError() == ControllerErrorCode.NONE
                                || r.getError() == ControllerErrorCode.TOPIC_ALREADY_EXISTS)
                        && txns.topicExists());
    }

    /** DESCRIBE on the group, or on the transactional id. */
    private boolean allowed(RequestContext context, byte keyType, String key) {
        return keyType == GROUP_KEY ? node.allowedOnGroup(context, AclOperation.DESCRIBE, key)
                : node.allowed(context, AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, key);
    }

    /** Creates {@code __consumer_offsets} if it does not exist yet; completes with whether it exists now. */
    private CompletableFuture<Boolean> ensureTopic() {
        if (groups.topicExists()) {
            return CompletableFuture.completedFuture(true);
        }
        int live = node.metadata().image().liveBrokers().size();
        int rf = Math.max(1, Math.min(node.config().offsetsTopicReplicationFactor(), live));
        return creator.create(GroupService.TOPIC, node.config().offsetsTopicNumPartitions(), rf,
                OFFSETS_TOPIC_CONFIGS, false).handle((r, e) -> e == null
                        && (r.getError() == ControllerErrorCode.NONE
                                || r.getError() == ControllerErrorCode.TOPIC_ALREADY_EXISTS)
                        && groups.topicExists());
    }

    private FindCoordinatorResponseData.Coordinator locate(String key, byte keyType, boolean topicReady,
            String listenerName) {
        FindCoordinatorResponseData.Coordinator c = new FindCoordinatorResponseData.Coordinator().setKey(key)
                .setNodeId(-1).setHost("").setPort(-1);
        if (key == null || key.isEmpty()) {
            return c.setErrorCode(Errors.INVALID_REQUEST.code()).setErrorMessage(keyType == GROUP_KEY
                    ? "empty group id" : "empty transactional id");
        }
        int leader = !topicReady ? -1 : keyType == GROUP_KEY ? groups.coordinatorFor(key) : txns.coordinatorFor(key);
        BrokerRegistration broker = leader < 0 ? null : node.metadata().image().brokers().get(leader);
        if (broker == null || broker.fenced()) {
            return c.setErrorCode(Errors.COORDINATOR_NOT_AVAILABLE.code())
                    .setErrorMessage("the coordinator is not available");
        }
        BrokerRegistration.BrokerEndpoint endpoint = broker.endpoint(listenerName).orElse(null);
        if (endpoint == null) {
            return c.setErrorCode(Errors.COORDINATOR_NOT_AVAILABLE.code())
                    .setErrorMessage("the coordinator has no " + listenerName + " listener");
        }
        return c.setErrorCode(Errors.NONE.code()).setNodeId(leader).setHost(endpoint.host())
                .setPort(endpoint.port());
    }
}
