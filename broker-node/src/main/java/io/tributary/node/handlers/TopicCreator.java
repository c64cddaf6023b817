package io.tributary.node.handlers;

import io.tributary.proto.metadata.ControllerErrorCode;
import io.tributary.proto.metadata.ControllerRequest;
import io.tributary.proto.metadata.ControllerResponse;
import io.tributary.proto.metadata.CreateTopicRequest;
import io.tributary.proto.metadata.DeleteTopicRequest;
import io.tributary.proto.metadata.PartitionReplicaAssignment;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.protocol.Errors;

/**
 * Topic changes for CreateTopics, DeleteTopics and Metadata's auto-creation: resolves -1 to the node's defaults
 * ({@code num.partitions}, {@code default.replication.factor}), checks the configs, asks the active controller,
 * and waits until this node's own metadata shows the change, so the client's next request here sees it.
 */
final class TopicCreator {

    private final NodeServices node;

    TopicCreator(NodeServices node) {
        this.node = node;
    }

    CompletableFuture<ControllerResponse> create(String name, int partitions, int replicationFactor,
            Map<String, String> configs, boolean validateOnly) {
        return create(name, partitions, replicationFactor, java.util.List.of(), configs, validateOnly);
    }

    /**
     * @param assignments a manual assignment (partition, replicas), or empty; with one, -1 counts are passed on as
     *                    they are (the controller requires them so, as Kafka's does)
     */
    CompletableFuture<ControllerResponse> create(String name, int partitions, int replicationFactor,
            java.util.List<PartitionReplicaAssignment> assignments, Map<String, String> configs,
            boolean validateOnly) {
        String problem = TopicConfigs.problem(configs, node.replicas().defaultLogConfig());
        if (problem != null) {
            return CompletableFuture.completedFuture(ControllerResponse.newBuilder()
                    .setError(ControllerErrorCode.INVALID_CONFIG).setErrorMessage(problem).build());
        }
        boolean manual = !assignments.isEmpty();
        int p = partitions == -1 && !manual ? node.config().numPartitions() : partitions;
        int rf = replicationFactor == -1 && !manual ? node.config().defaultReplicationFactor() : replicationFactor;
        return node.sendToControllerAndAwait(ControllerRequest.newBuilder().setCreateTopic(CreateTopicRequest.newBuilder()
                .setName(name).setPartitions(p).setReplicationFactor(rf).addAllAssignments(assignments)
                .putAllConfigs(configs).setValidateOnly(validateOnly)).build());
    }

    CompletableFuture<ControllerResponse> delete(String name) {
        return node.sendToControllerAndAwait(ControllerRequest.newBuilder()
                .setDeleteTopic(DeleteTopicRequest.newBuilder().setName(name)).build());
    }

    static Errors error(ControllerResponse response) {
        return error(response.getError());
    }

    /** Kafka's error code for a controller's. */
    static Errors error(ControllerErrorCode code) {
        return switch (code) {
            case NONE -> Errors.NONE;
            case NOT_CONTROLLER -> Errors.NOT_CONTROLLER;
            case TOPIC_ALREADY_EXISTS -> Errors.TOPIC_ALREADY_EXISTS;
            case INVALID_TOPIC_EXCEPTION -> Errors.INVALID_TOPIC_EXCEPTION;
            case INVALID_PARTITIONS -> Errors.INVALID_PARTITIONS;
            case INVALID_REPLICATION_FACTOR -> Errors.INVALID_REPLICATION_FACTOR;
            case UNKNOWN_TOPIC_OR_PARTITION -> Errors.UNKNOWN_TOPIC_OR_PARTITION;
            case INVALID_CONFIG -> Errors.INVALID_CONFIG;
            case FENCED_LEADER_EPOCH -> Errors.FENCED_LEADER_EPOCH;
            case INVALID_UPDATE_VERSION -> Errors.INVALID_UPDATE_VERSION;
            case INELIGIBLE_REPLICA -> Errors.INELIGIBLE_REPLICA;
            case RESOURCE_NOT_FOUND -> Errors.RESOURCE_NOT_FOUND;
            case POLICY_VIOLATION -> Errors.POLICY_VIOLATION;
            case INVALID_REPLICA_ASSIGNMENT -> Errors.INVALID_REPLICA_ASSIGNMENT;
            case ELECTION_NOT_NEEDED -> Errors.ELECTION_NOT_NEEDED;
            case PREFERRED_LEADER_NOT_AVAILABLE -> Errors.PREFERRED_LEADER_NOT_AVAILABLE;
            case ELIGIBLE_LEADERS_NOT_AVAILABLE -> Errors.ELIGIBLE_LEADERS_NOT_AVAILABLE;
            case NO_REASSIGNMENT_IN_PROGRESS -> Errors.NO_REASSIGNMENT_IN_PROGRESS;
            case BROKER_ID_NOT_REGISTERED -> Errors.BROKER_ID_NOT_REGISTERED;
            case INVALID_REQUEST, STALE_BROKER_EPOCH, UNRECOGNIZED -> Errors.INVALID_REQUEST;
        };
    }
}
