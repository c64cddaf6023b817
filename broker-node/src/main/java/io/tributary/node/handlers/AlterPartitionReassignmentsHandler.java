package io.tributary.node.handlers;

import io.tributary.proto.metadata.AlterPartitionReassignmentsRequest;
import io.tributary.proto.metadata.ControllerErrorCode;
import io.tributary.proto.metadata.ControllerRequest;
import io.tributary.proto.metadata.ControllerResponse;
import io.tributary.proto.metadata.PartitionReassignmentResult;
import io.tributary.proto.metadata.PartitionReassignmentTarget;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.message.AlterPartitionReassignmentsRequestData;
import org.apache.kafka.common.message.AlterPartitionReassignmentsResponseData;
import org.apache.kafka.common.message.AlterPartitionReassignmentsResponseData.ReassignablePartitionResponse;
import org.apache.kafka.common.message.AlterPartitionReassignmentsResponseData.ReassignableTopicResponse;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.Errors;

/**
 * AlterPartitionReassignments v0-1 (KIP-455; {@code kafka-reassign-partitions --execute / --cancel},
 * {@code Admin.alterPartitionReassignments}): starts or cancels (a null replica list) partition reassignments through
 * the active controller ({@code ReassignmentDecisions}); answered per partition once this node's metadata shows the
 * change. The data moves afterwards: new replicas fetch from the leader, join the ISR, and the controller completes
 * the move when the last target replica joins (see docs/replication.md). As in Kafka: ALTER on the cluster, else
 * CLUSTER_AUTHORIZATION_FAILED at the top and for every partition; v1's {@code allowReplicationFactorChange=false}
 * (KIP-860) refuses a target of another size with INVALID_REPLICATION_FACTOR.
 */
public final class AlterPartitionReassignmentsHandler implements ApiHandler {

    private final NodeServices node;

    public AlterPartitionReassignmentsHandler(NodeServices node) {
        this.node = node;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.ALTER_PARTITION_REASSIGNMENTS;
    }

    @Override
    public short minVersion() {
        return 0;
    }

    @Override
    public short maxVersion() {
        return 1;
    }

    @Override
    public CompletableFuture<ApiMessage> handle(RequestContext context, ApiMessage message) {
        AlterPartitionReassignmentsRequestData request = (AlterPartitionReassignmentsRequestData) message;
        if (!node.allowedOnCluster(context, AclOperation.ALTER)) {
            return CompletableFuture.completedFuture(errorResponse(request, Errors.CLUSTER_AUTHORIZATION_FAILED,
                    Errors.CLUSTER_AUTHORIZATION_FAILED.message()));
        }
        AlterPartitionReassignmentsRequest.Builder alter = AlterPartitionReassignmentsRequest.newBuilder()
                .setDisallowReplicationFactorChange(!request.allowReplicationFactorChange());
        for (AlterPartitionReassignmentsRequestData.ReassignableTopic topic : request.topics()) {
            for (AlterPartitionReassignmentsRequestData.ReassignablePartition p : topic.partitions()) {
                PartitionReassignmentTarget.Builder target = PartitionReassignmentTarget.newBuilder()
                        .setTopic(topic.name()).setPartition(p.partitionIndex()).setHasTarget(p.replicas() != null);
                if (p.replicas() != null) {
                    target.addAllReplicas(p.replicas());
                }
                alter.addPartitions(target);
            }
        }
        return node.sendToControllerAndAwait(ControllerRequest.newBuilder().setAlterPartitionReassignments(alter)
                .build()).handle((answer, failure) -> {
                    if (failure != null) {
                        return errorResponse(request, Errors.REQUEST_TIMED_OUT,
                                "the controller did not answer in time");
                    }
                    if (answer.getError() != ControllerErrorCode.NONE) {
                        return errorResponse(request, TopicCreator.error(answer), answer.getErrorMessage());
                    }
                    return respond(request, answer);
                });
    }

    private static ApiMessage respond(AlterPartitionReassignmentsRequestData request, ControllerResponse answer) {
        Map<String, ReassignableTopicResponse> topics = new LinkedHashMap<>();
        for (PartitionReassignmentResult r : answer.getAlterPartitionReassignments().getResultsList()) {
            Errors error = TopicCreator.error(r.getError());
            topics.computeIfAbsent(r.getTopic(), name -> new ReassignableTopicResponse().setName(name))
                    .partitions().add(new ReassignablePartitionResponse().setPartitionIndex(r.getPartition())
                            .setErrorCode(error.code())
                            .setErrorMessage(error == Errors.NONE ? null : r.getErrorMessage()));
        }
        return new AlterPartitionReassignmentsResponseData()
                .setAllowReplicationFactorChange(request.allowReplicationFactorChange())
                .setErrorCode(Errors.NONE.code())
                .setResponses(new ArrayList<>(topics.values()));
    }

    /** Kafka's {@code AlterPartitionReassignmentsRequest.getErrorResponse}: the error at the top and per partition. */
    private static ApiMessage errorResponse(AlterPartitionReassignmentsRequestData request, Errors error,
            String message) {
        List<ReassignableTopicResponse> topics = new ArrayList<>();
        for (AlterPartitionReassignmentsRequestData.ReassignableTopic topic : request.topics()) {
            ReassignableTopicResponse t = new ReassignableTopicResponse().setName(topic.name());
            topic.partitions().forEach(p -> t.partitions().add(new ReassignablePartitionResponse()
                    .setPartitionIndex(p.partitionIndex()).setErrorCode(error.code()).setErrorMessage(message)));
            topics.add(t);
        }
        return new AlterPartitionReassignmentsResponseData()
                .setAllowReplicationFactorChange(request.allowReplicationFactorChange())
                .setErrorCode(error.code()).setErrorMessage(message).setResponses(topics);
    }
}
