package io.tributary.node.handlers;

import io.tributary.metadata.TopicImage;
import io.tributary.proto.metadata.ControllerErrorCode;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.DeleteTopicsRequestData;
import org.apache.kafka.common.message.DeleteTopicsResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.protocol.Errors;

/** DeleteTopics v1-v6: deletes topics by name (v0-v5 {@code topicNames}; v6 {@code topics}, by name or id). */
public final class DeleteTopicsHandler implements ApiHandler {

    private final NodeServices node;
    private final TopicCreator topics;

    public DeleteTopicsHandler(NodeServices node) {
        this.node = node;
        this.topics = new TopicCreator(node);
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.DELETE_TOPICS;
    }

    @Override
    public short minVersion() {
        return 1;
    }

    @Override
    public short maxVersion() {
        return 6;
    }

    @Override
    public CompletableFuture<ApiMessage> handle(RequestContext context, ApiMessage message) {
        DeleteTopicsRequestData request = (DeleteTopicsRequestData) message;
        List<CompletableFuture<DeleteTopicsResponseData.DeletableTopicResult>> results = new ArrayList<>();
        if (context.apiVersion() >= 6) {
            for (DeleteTopicsRequestData.DeleteTopicState t : request.topics()) {
                String name = t.name();
                if (name == null) {
                    TopicImage byId = node.metadata().image().topic(KafkaIds.fromKafka(t.topicId()));
                    if (byId == null) {
                        results.add(CompletableFuture.completedFuture(new DeleteTopicsResponseData
                                .DeletableTopicResult().setTopicId(t.topicId())
                                .setErrorCode(Errors.UNKNOWN_TOPIC_ID.code())));
                        continue;
                    }
                    name = byId.name();
                }
                results.add(delete(context, name, t.name() == null ? t.topicId() : null));
            }
        } else {
            request.topicNames().forEach(name -> results.add(delete(context, name, null)));
        }
        return CompletableFuture.allOf(results.toArray(CompletableFuture[]::new)).thenApply(v -> {
            DeleteTopicsResponseData.DeletableTopicResultCollection collection =
                    new DeleteTopicsResponseData.DeletableTopicResultCollection();
            results.forEach(r -> collection.add(r.join()));
            return new DeleteTopicsResponseData().setResponses(collection);
        });
    }

    /**
     * As Kafka's controller decides: DELETE on the cluster allows every topic; otherwise a topic the principal may
     * not DESCRIBE is refused whether it exists or not, an unknown one is UNKNOWN_TOPIC_OR_PARTITION, and one it
     * may not DELETE is refused.
     */
    private CompletableFuture<DeleteTopicsResponseData.DeletableTopicResult> delete(RequestContext context,
            String name, Uuid requestedId) {
        TopicImage before = node.metadata().image().topic(name);
        if (!node.allowedOnCluster(context, AclOperation.DELETE)) {
            boolean describe = node.allowedOnTopic(context, AclOperation.DESCRIBE, name);
            Errors refusal = !describe ? Errors.TOPIC_AUTHORIZATION_FAILED
                    : before == null ? Errors.UNKNOWN_TOPIC_OR_PARTITION
                    : !node.allowedOnTopic(context, AclOperation.DELETE, name) ? Errors.TOPIC_AUTHORIZATION_FAILED
                    : null;
            if (refusal != null) {
                // Asked by id, the answer keeps the id (clients match on it) and names the topic only to a
                // principal that may describe it, as Kafka does.
                return CompletableFuture.completedFuture(new DeleteTopicsResponseData.DeletableTopicResult()
                        .setName(requestedId != null && !describe ? null : name)
                        .setTopicId(requestedId != null ? requestedId : Uuid.ZERO_UUID)
                        .setErrorCode(refusal.code()));
            }
        }
        return topics.delete(name).handle((result, failure) -> {
            DeleteTopicsResponseData.DeletableTopicResult r = new DeleteTopicsResponseData.DeletableTopicResult()
                    .setName(name)
                    .setTopicId(before == null ? Uuid.ZERO_UUID : KafkaIds.toKafka(before.topicId()));
            if (failure != null) {
                return r.setErrorCode(Errors.REQUEST_TIMED_OUT.code())
                        .setErrorMessage("the controller did not answer in time");
            }
            if (result.getError() != ControllerErrorCode.NONE) {
                r.setErrorCode(TopicCreator.error(result).code()).setErrorMessage(result.getErrorMessage());
            }
            return r;
        });
    }
}
