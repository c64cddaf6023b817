package io.tributary.node.handlers;

import io.tributary.node.group.GroupService;
import io.tributary.node.txn.TransactionService;
import io.tributary.proto.metadata.ControllerErrorCode;
import io.tributary.proto.metadata.ControllerRequest;
import io.tributary.proto.metadata.CreatePartitionsRequest;
import io.tributary.proto.metadata.ReplicaAssignment;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.message.CreatePartitionsRequestData;
import org.apache.kafka.common.message.CreatePartitionsResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.Errors;

/**
 * CreatePartitions v0-3 ({@code kafka-topics --alter --partitions}, {@code Admin.createPartitions}): grows topics
 * through the active controller, which validates and places the new partitions ({@code PartitionCountDecisions});
 * each answer waits until this node's metadata shows the new partitions, so the client's next Metadata request here
 * lists them. As in Kafka: a topic named twice is refused INVALID_REQUEST, a topic the principal may not ALTER
 * TOPIC_AUTHORIZATION_FAILED; {@code validateOnly} decides without committing.
 *
 * <p>Where we differ: the internal topics {@code __consumer_offsets} and {@code __transaction_state} may not grow
 * (INVALID_REQUEST). Kafka's broker lets them (only its old TopicCommand refused the offsets topic), but their
 * coordinators hash ids modulo the partition count, so growing them moves groups and transactional ids away from
 * their state.
 */
public final class CreatePartitionsHandler implements ApiHandler {

    private static final Set<String> INTERNAL_TOPICS = Set.of(GroupService.TOPIC, TransactionService.TOPIC);

    private final NodeServices node;

    public CreatePartitionsHandler(NodeServices node) {
        this.node = node;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.CREATE_PARTITIONS;
    }

    @Override
    public short minVersion() {
        return 0;
    }

    @Override
    public short maxVersion() {
        return 3;
    }

    @Override
    public CompletableFuture<ApiMessage> handle(RequestContext context, ApiMessage message) {
        CreatePartitionsRequestData request = (CreatePartitionsRequestData) message;
        Set<String> seen = new HashSet<>();
        Set<String> duplicates = new HashSet<>();
        request.topics().forEach(t -> {
            if (!seen.add(t.name())) {
                duplicates.add(t.name());
            }
        });
        List<CompletableFuture<CreatePartitionsResponseData.CreatePartitionsTopicResult>> results = new ArrayList<>();
        Set<String> answered = new HashSet<>();
        for (CreatePartitionsRequestData.CreatePartitionsTopic topic : request.topics()) {
            if (duplicates.contains(topic.name())) {
                if (answered.add(topic.name())) {
                    results.add(done(result(topic.name(), Errors.INVALID_REQUEST, "Duplicate topic name.")));
                }
            } else if (!node.allowedOnTopic(context, AclOperation.ALTER, topic.name())) {
                results.add(done(result(topic.name(), Errors.TOPIC_AUTHORIZATION_FAILED, null)));
            } else if (INTERNAL_TOPICS.contains(topic.name())) {
                results.add(done(result(topic.name(), Errors.INVALID_REQUEST, "The number of partitions of the"
                        + " internal topic " + topic.name() + " cannot be changed: its coordinators hash ids"
                        + " modulo the partition count.")));
            } else {
                results.add(grow(topic, request.validateOnly()));
            }
        }
        return CompletableFuture.allOf(results.toArray(CompletableFuture[]::new)).thenApply(v -> {
            CreatePartitionsResponseData response = new CreatePartitionsResponseData();
            results.forEach(r -> response.results().add(r.join()));
            return response;
        });
    }

    private CompletableFuture<CreatePartitionsResponseData.CreatePartitionsTopicResult> grow(
            CreatePartitionsRequestData.CreatePartitionsTopic topic, boolean validateOnly) {
        CreatePartitionsRequest.Builder grow = CreatePartitionsRequest.newBuilder()
                .setName(topic.name()).setCount(topic.count()).setValidateOnly(validateOnly);
        if (topic.assignments() != null) {
            topic.assignments().forEach(a -> grow.addAssignments(ReplicaAssignment.newBuilder()
                    .addAllBrokerIds(a.brokerIds())));
        }
        return node.sendToControllerAndAwait(ControllerRequest.newBuilder().setCreatePartitions(grow).build())
                .handle((answer, failure) -> {
                    if (failure != null) {
                        return result(topic.name(), Errors.REQUEST_TIMED_OUT, "the controller did not answer in time");
                    }
                    if (answer.getError() != ControllerErrorCode.NONE) {
                        return result(topic.name(), TopicCreator.error(answer), answer.getErrorMessage());
                    }
                    return result(topic.name(), Errors.NONE, null);
                });
    }

    private static CompletableFuture<CreatePartitionsResponseData.CreatePartitionsTopicResult> done(
            CreatePartitionsResponseData.CreatePartitionsTopicResult result) {
        return CompletableFuture.completedFuture(result);
    }

    private static CreatePartitionsResponseData.CreatePartitionsTopicResult result(String name, Errors error,
            String message) {
        return new CreatePartitionsResponseData.CreatePartitionsTopicResult()
                .setName(name).setErrorCode(error.code()).setErrorMessage(message);
    }
}
