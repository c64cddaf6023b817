package io.tributary.node.handlers;

import io.tributary.proto.metadata.AlterTopicConfigsRequest;
import io.tributary.proto.metadata.ConfigOperation;
import io.tributary.proto.metadata.ConfigOperationType;
import io.tributary.proto.metadata.ControllerErrorCode;
import io.tributary.proto.metadata.ControllerRequest;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.ApiError;

/**
 * What IncrementalAlterConfigs and AlterConfigs share: the broker's checks of one resource (as Kafka's
 * {@code ConfigAdminManager.preprocess} and the authorizer: duplicate resources and keys, null values, resource type,
 * ALTER_CONFIGS), then the change of a topic's configs, or of a broker's dynamic configs (KIP-226: name = broker id,
 * or empty for the cluster-wide default), through the active controller, which validates and commits it; the answer
 * waits until this node's metadata shows the change. Broker logger resources are refused (log levels do not change
 * at run time here). Called on io threads; holds no state.
 */
final class ConfigAlterer {

    static final byte TOPIC = 2;
    static final byte BROKER = 4;
    static final byte BROKER_LOGGER = 8;

    /** One resource of a request, its operations in Kafka's numbering (SET 0, DELETE 1, APPEND 2, SUBTRACT 3). */
    record Alteration(byte resourceType, String resourceName, List<Op> ops) {
    }

    record Op(String name, byte type, String value) {
    }

    private final NodeServices node;

    ConfigAlterer(NodeServices node) {
        this.node = node;
    }

    /** The error of each resource, in order ({@link ApiError#NONE} for a change made or validated). */
    List<CompletableFuture<ApiError>> alter(RequestContext context, List<Alteration> alterations, boolean replace,
            boolean validateOnly) {
        Set<String> seen = new HashSet<>();
        Set<String> duplicates = new HashSet<>();
        for (Alteration a : alterations) {
            String key = a.resourceType() + "/" + a.resourceName();
            if (!seen.add(key)) {
                duplicates.add(key);
            }
        }
        List<CompletableFuture<ApiError>> results = new ArrayList<>();
        for (Alteration a : alterations) {
            if (duplicates.contains(a.resourceType() + "/" + a.resourceName())) {
                results.add(done(Errors.INVALID_REQUEST, "Each resource must appear at most once."));
            } else {
                results.add(alterOne(context, a, replace, validateOnly));
            }
        }
        return results;
    }

    private CompletableFuture<ApiError> alterOne(RequestContext context, Alteration a, boolean replace,
            boolean validateOnly) {
        switch (a.resourceType()) {
            case TOPIC -> {
                if (!node.allowedOnTopic(context, AclOperation.ALTER_CONFIGS, a.resourceName())) {
                    return done(Errors.TOPIC_AUTHORIZATION_FAILED, null);
                }
                return alterThroughController(a, replace, validateOnly);
            }
            case BROKER, BROKER_LOGGER -> {
                if (!node.allowedOnCluster(context, AclOperation.ALTER_CONFIGS)) {
                    return done(Errors.CLUSTER_AUTHORIZATION_FAILED, null);
                }
                if (a.resourceType() == BROKER) {
                    return alterThroughController(a, replace, validateOnly);
                }
                // Refused rather than answered with a success that changes nothing.
                return done(Errors.INVALID_REQUEST, "broker logger configs are not supported: log levels are set "
                        + "in the node's logging configuration");
            }
            default -> {
                return done(Errors.INVALID_REQUEST, "Unsupported resource type " + a.resourceType());
            }
        }
    }

    private CompletableFuture<ApiError> alterThroughController(Alteration a, boolean replace, boolean validateOnly) {
        AlterTopicConfigsRequest.Builder request = AlterTopicConfigsRequest.newBuilder()
                .setReplace(replace).setValidateOnly(validateOnly);
        if (a.resourceType() == BROKER) {
            request.setBroker(a.resourceName() == null ? "" : a.resourceName());
        } else {
            request.setTopic(a.resourceName());
        }
        Set<String> names = new HashSet<>();
        for (Op op : a.ops()) {
            if (!names.add(op.name())) {
                return done(Errors.INVALID_REQUEST, "Error due to duplicate config keys");
            }
            ConfigOperationType type = ConfigOperationType.forNumber(op.type());
            if (type == null || type == ConfigOperationType.UNRECOGNIZED) {
                return done(Errors.INVALID_REQUEST, "Unknown operation type " + op.type());
            }
            if (op.value() == null && type != ConfigOperationType.CONFIG_DELETE) {
                return done(Errors.INVALID_REQUEST, "Null value not supported for : " + op.name());
            }
            request.addOperations(ConfigOperation.newBuilder().setName(op.name()).setType(type)
                    .setValue(op.value() == null ? "" : op.value()));
        }
        return node.sendToControllerAndAwait(ControllerRequest.newBuilder().setAlterTopicConfigs(request).build())
                .handle((answer, failure) -> {
                    if (failure != null) {
                        return new ApiError(Errors.REQUEST_TIMED_OUT, "the controller did not answer in time");
                    }
                    if (answer.getError() == ControllerErrorCode.NONE) {
                        return ApiError.NONE;
                    }
                    return new ApiError(TopicCreator.error(answer), answer.getErrorMessage());
                });
    }

    private static CompletableFuture<ApiError> done(Errors error, String message) {
        return CompletableFuture.completedFuture(new ApiError(error, message));
    }
}
