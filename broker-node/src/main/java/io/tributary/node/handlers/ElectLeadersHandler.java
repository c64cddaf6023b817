package io.tributary.node.handlers;

import io.tributary.proto.metadata.ControllerErrorCode;
import io.tributary.proto.metadata.ControllerRequest;
import io.tributary.proto.metadata.ElectLeadersRequest;
import io.tributary.proto.metadata.ElectionResult;
import io.tributary.proto.metadata.ElectionTopic;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.message.ElectLeadersRequestData;
import org.apache.kafka.common.message.ElectLeadersResponseData;
import org.apache.kafka.common.message.ElectLeadersResponseData.PartitionResult;
import org.apache.kafka.common.message.ElectLeadersResponseData.ReplicaElectionResult;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.Errors;

/**
 * ElectLeaders v0-2 (KIP-183, KIP-460: {@code kafka-leader-election}, {@code Admin.electLeaders}): preferred (v0's
 * only type) and unclean elections, decided by the active controller ({@code LeaderElectionDecisions}) and answered
 * per partition once this node's metadata shows the new leaders, so a client's next Metadata request here sees them.
 *
 * <p>As in Kafka: ALTER on the cluster, else CLUSTER_AUTHORIZATION_FAILED for the request (v1+) and every named
 * partition; null topic partitions elect every partition and leave out those that needed no election; an unknown
 * election type is INVALID_REQUEST; a controller that does not answer in time gives REQUEST_TIMED_OUT.
 */
public final class ElectLeadersHandler implements ApiHandler {

    private final NodeServices node;

    public ElectLeadersHandler(NodeServices node) {
        this.node = node;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.ELECT_LEADERS;
    }

    @Override
    public short minVersion() {
        return 0;
    }

    @Override
    public short maxVersion() {
        return 2;
    }

    @Override
    public CompletableFuture<ApiMessage> handle(RequestContext context, ApiMessage message) {
        ElectLeadersRequestData request = (ElectLeadersRequestData) message;
        short version = context.apiVersion();
        if (!node.allowedOnCluster(context, AclOperation.ALTER)) {
            return done(failed(request, version, Errors.CLUSTER_AUTHORIZATION_FAILED, null));
        }
        if (request.electionType() != 0 && request.electionType() != 1) {
            return done(failed(request, version, Errors.INVALID_REQUEST, "Unknown election type " + request.electionType()));
        }
        ElectLeadersRequest.Builder elect = ElectLeadersRequest.newBuilder()
                .setElectionType(request.electionType())
                .setAllPartitions(request.topicPartitions() == null);
        if (request.topicPartitions() != null) {
            for (ElectLeadersRequestData.TopicPartitions topic : request.topicPartitions()) {
                elect.addTopics(ElectionTopic.newBuilder().setTopic(topic.topic())
                        .addAllPartitions(topic.partitions()));
            }
        }
        return node.sendToControllerAndAwait(ControllerRequest.newBuilder().setElectLeaders(elect).build())
                .handle((answer, failure) -> {
                    if (failure != null) {
                        return failed(request, version, Errors.REQUEST_TIMED_OUT, "the controller did not answer in time");
                    }
                    if (answer.getError() != ControllerErrorCode.NONE) {
                        return failed(request, version, TopicCreator.error(answer), answer.getErrorMessage());
                    }
                    return answered(answer.getElectLeaders().getResultsList());
                });
    }

    /** The controller's results, grouped by topic in first-mention order. */
    private static ApiMessage answered(List<ElectionResult> results) {
        Map<String, ReplicaElectionResult> byTopic = new LinkedHashMap<>();
        for (ElectionResult r : results) {
            Errors error = TopicCreator.error(r.getError());
            byTopic.computeIfAbsent(r.getTopic(), t -> new ReplicaElectionResult().setTopic(t)).partitionResult()
                    .add(new PartitionResult().setPartitionId(r.getPartition()).setErrorCode(error.code())
                            .setErrorMessage(error == Errors.NONE ? null : r.getErrorMessage()));
        }
        return new ElectLeadersResponseData().setErrorCode(Errors.NONE.code())
                .setReplicaElectionResults(List.copyOf(byTopic.values()));
    }

    /** The error for the request (v1+) and every named partition, as Kafka's {@code getErrorResponse}. */
    private static ApiMessage failed(ElectLeadersRequestData request, short version, Errors error, String message) {
        // v0 has no top-level error code (and refuses to encode one)
        ElectLeadersResponseData response = new ElectLeadersResponseData()
                .setErrorCode(version >= 1 ? error.code() : Errors.NONE.code());
        if (request.topicPartitions() != null) {
            for (ElectLeadersRequestData.TopicPartitions topic : request.topicPartitions()) {
                ReplicaElectionResult result = new ReplicaElectionResult().setTopic(topic.topic());
                for (int partition : topic.partitions()) {
                    result.partitionResult().add(new PartitionResult().setPartitionId(partition)
                            .setErrorCode(error.code()).setErrorMessage(message));
                }
                response.replicaElectionResults().add(result);
            }
        }
        return response;
    }

    private static CompletableFuture<ApiMessage> done(ApiMessage response) {
        return CompletableFuture.completedFuture(response);
    }
}
