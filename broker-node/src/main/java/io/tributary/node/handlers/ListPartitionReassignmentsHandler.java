package io.tributary.node.handlers;

import io.tributary.proto.metadata.ControllerErrorCode;
import io.tributary.proto.metadata.ControllerRequest;
import io.tributary.proto.metadata.ListPartitionReassignmentsRequest;
import io.tributary.proto.metadata.OngoingReassignment;
import io.tributary.proto.metadata.PartitionReassignmentTarget;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.message.ListPartitionReassignmentsRequestData;
import org.apache.kafka.common.message.ListPartitionReassignmentsResponseData;
import org.apache.kafka.common.message.ListPartitionReassignmentsResponseData.OngoingPartitionReassignment;
import org.apache.kafka.common.message.ListPartitionReassignmentsResponseData.OngoingTopicReassignment;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.Errors;

/**
 * ListPartitionReassignments v0 (KIP-455; {@code kafka-reassign-partitions --verify / --list},
 * {@code Admin.listPartitionReassignments}): the reassignments in progress, as the active controller's applied
 * metadata has them (Kafka forwards this request to its controller too), for the named partitions or, with null
 * topics, every partition; partitions that do not exist or are not being reassigned are left out. DESCRIBE on the
 * cluster, else CLUSTER_AUTHORIZATION_FAILED, as in Kafka.
 */
public final class ListPartitionReassignmentsHandler implements ApiHandler {

    private final NodeServices node;

    public ListPartitionReassignmentsHandler(NodeServices node) {
        this.node = node;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.LIST_PARTITION_REASSIGNMENTS;
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
        ListPartitionReassignmentsRequestData request = (ListPartitionReassignmentsRequestData) message;
        if (!node.allowedOnCluster(context, AclOperation.DESCRIBE)) {
            return CompletableFuture.completedFuture(error(Errors.CLUSTER_AUTHORIZATION_FAILED,
                    Errors.CLUSTER_AUTHORIZATION_FAILED.message()));
        }
        ListPartitionReassignmentsRequest.Builder list = ListPartitionReassignmentsRequest.newBuilder()
                .setAll(request.topics() == null);
        if (request.topics() != null) {
            request.topics().forEach(t -> t.partitionIndexes().forEach(p -> list.addPartitions(
                    PartitionReassignmentTarget.newBuilder().setTopic(t.name()).setPartition(p))));
        }
        return node.controller().send(ControllerRequest.newBuilder().setListPartitionReassignments(list).build())
                .handle((answer, failure) -> {
                    if (failure != null) {
                        return error(Errors.REQUEST_TIMED_OUT, "the controller did not answer in time");
                    }
                    if (answer.getError() != ControllerErrorCode.NONE) {
                        return error(TopicCreator.error(answer), answer.getErrorMessage());
                    }
                    Map<String, OngoingTopicReassignment> topics = new LinkedHashMap<>();
                    for (OngoingReassignment o : answer.getListPartitionReassignments().getReassignmentsList()) {
                        topics.computeIfAbsent(o.getTopic(), name -> new OngoingTopicReassignment().setName(name))
                                .partitions().add(new OngoingPartitionReassignment()
                                        .setPartitionIndex(o.getPartition())
                                        .setReplicas(new ArrayList<>(o.getReplicasList()))
                                        .setAddingReplicas(new ArrayList<>(o.getAddingReplicasList()))
                                        .setRemovingReplicas(new ArrayList<>(o.getRemovingReplicasList())));
                    }
                    return new ListPartitionReassignmentsResponseData().setErrorCode(Errors.NONE.code())
                            .setTopics(new ArrayList<>(topics.values()));
                });
    }

    private static ApiMessage error(Errors error, String message) {
        return new ListPartitionReassignmentsResponseData().setErrorCode(error.code()).setErrorMessage(message);
    }
}
