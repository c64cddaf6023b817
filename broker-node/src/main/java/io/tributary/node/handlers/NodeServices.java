package io.tributary.node.handlers;

import io.tributary.metadata.BrokerLifecycle;
import io.tributary.metadata.ControllerChannel;
import io.tributary.node.NodeConfig;
import io.tributary.node.metrics.NodeMetrics;
import io.tributary.node.security.NodeAuthorizer;
import io.tributary.proto.metadata.ControllerErrorCode;
import io.tributary.proto.metadata.ControllerRequest;
import io.tributary.proto.metadata.ControllerResponse;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.resource.ResourceType;
import io.tributary.replication.ReplicaManager;

/**
 * What request handlers share: the node's config and identity, its view of the metadata (kept current by its
 * membership of the cluster), the line to the active controller, the hosted replicas, the node's meters, its
 * authorizer (ACLs), and its bound on request and response memory (fetches size their reads by it).
 */
public record NodeServices(
        NodeConfig config, String clusterId, BrokerLifecycle metadata, ControllerChannel controller,
        ReplicaManager replicas, ProducerIdManager producerIds, NodeMetrics metrics, NodeAuthorizer authorizer,
        io.tributary.node.network.RequestMemoryPool memory) {

    /** How long a handler waits for this node to see a change the controller committed for its client. */
    public static final long METADATA_PROPAGATION_TIMEOUT_MS = 10_000;

    /**
     * Sends {@code request} to the active controller; when it committed a change, completes once this node's
     * metadata shows it (at most {@link #METADATA_PROPAGATION_TIMEOUT_MS}), so that the client's next request here
     * sees it. Completes with the controller's answer either way.
     */
    public CompletableFuture<ControllerResponse> sendToControllerAndAwait(ControllerRequest request) {
        return controller.send(request).thenCompose(answer -> {
            if (answer.getError() != ControllerErrorCode.NONE || answer.getMetadataOffset() <= 0) {
                return CompletableFuture.completedFuture(answer);
            }
            return metadata.awaitOffset(answer.getMetadataOffset(), METADATA_PROPAGATION_TIMEOUT_MS)
                    .handle((v, e) -> answer);
        });
    }

    /** Whether the request's principal may do {@code operation} on the named resource (always, without ACLs). */
    public boolean allowed(RequestContext context, AclOperation operation, ResourceType type, String name) {
        return authorizer.allowed(context.principal(), context.clientHost(), operation, type, name);
    }

    public boolean allowedOnTopic(RequestContext context, AclOperation operation, String topic) {
        return allowed(context, operation, ResourceType.TOPIC, topic);
    }

    public boolean allowedOnGroup(RequestContext context, AclOperation operation, String group) {
        return allowed(context, operation, ResourceType.GROUP, group);
    }

    public boolean allowedOnCluster(RequestContext context, AclOperation operation) {
        return allowed(context, operation, ResourceType.CLUSTER, NodeAuthorizer.CLUSTER_NAME);
    }

    /**
     * Kafka's authorized-operations bit field (bit {@code 1 << operation code}) of the operations Kafka lists for
     * the resource type ({@code AclEntry.supportedOperations}) that the principal may do on the resource.
     */
    public int authorizedOperations(RequestContext context, ResourceType type, String name) {
        java.util.List<AclOperation> supported = switch (type) {
            case TOPIC -> java.util.List.of(AclOperation.READ, AclOperation.WRITE, AclOperation.CREATE,
                    AclOperation.DESCRIBE, AclOperation.DELETE, AclOperation.ALTER, AclOperation.DESCRIBE_CONFIGS,
                    AclOperation.ALTER_CONFIGS);
            case GROUP -> java.util.List.of(AclOperation.READ, AclOperation.DESCRIBE, AclOperation.DELETE,
                    AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS);
            case CLUSTER -> java.util.List.of(AclOperation.CREATE, AclOperation.CLUSTER_ACTION,
                    AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS, AclOperation.IDEMPOTENT_WRITE,
                    AclOperation.ALTER, AclOperation.DESCRIBE);
            default -> java.util.List.of();
        };
        int bits = 0;
        for (AclOperation operation : supported) {
            if (allowed(context, operation, type, name)) {
                bits |= 1 << operation.code();
            }
        }
        return bits;
    }
}
