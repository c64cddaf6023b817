package io.tributary.node.handlers;

import io.tributary.node.group.GroupService;
import io.tributary.node.group.TxnOffsetCommitDecision;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.message.TxnOffsetCommitRequestData;
import org.apache.kafka.common.message.TxnOffsetCommitResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.resource.ResourceType;

/**
 * TxnOffsetCommit v0-4 (KIP-98; v3 adds the member, generation and group instance id of KIP-447): a transactional
 * producer's {@code sendOffsetsToTransaction}. The group coordinator appends the offsets as a transactional batch of
 * the producer to {@code __consumer_offsets}; they become the group's committed offsets when the transaction's
 * COMMIT marker is written there, and go on ABORT. v5 (transactions v2, KIP-890: the coordinator adds the partition
 * to the transaction itself) is not served: the {@code transaction.version} feature is not advertised.
 *
 * <p>As Kafka's KafkaApis: WRITE on the transactional id (else every partition TRANSACTIONAL_ID_AUTHORIZATION_FAILED),
 * READ on the group (else GROUP_AUTHORIZATION_FAILED), READ on each topic (else that topic's partitions
 * TOPIC_AUTHORIZATION_FAILED; the others are committed); before v2, COORDINATOR_LOAD_IN_PROGRESS is answered
 * COORDINATOR_NOT_AVAILABLE (KAFKA-7296: older producers did not retry it).
 */
public final class TxnOffsetCommitHandler implements ApiHandler {

    private final NodeServices node;
    private final GroupService groups;

    public TxnOffsetCommitHandler(NodeServices node, GroupService groups) {
        this.node = node;
        this.groups = groups;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.TXN_OFFSET_COMMIT;
    }

    @Override
    public short minVersion() {
        return 0;
    }

    @Override
    public short maxVersion() {
        return 4;
    }

    @Override
    public CompletableFuture<ApiMessage> handle(RequestContext ctx, ApiMessage message) {
        TxnOffsetCommitRequestData req = (TxnOffsetCommitRequestData) message;
        short v = ctx.apiVersion();
        return commit(ctx, req).thenApply(response -> {
            if (v < 2) {
                response.topics().forEach(t -> t.partitions().forEach(p -> {
                    if (p.errorCode() == Errors.COORDINATOR_LOAD_IN_PROGRESS.code()) {
                        p.setErrorCode(Errors.COORDINATOR_NOT_AVAILABLE.code());
                    }
                }));
            }
            return response;
        });
    }

    private CompletableFuture<TxnOffsetCommitResponseData> commit(RequestContext ctx, TxnOffsetCommitRequestData req) {
        if (!node.allowed(ctx, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, req.transactionalId())) {
            return CompletableFuture.completedFuture(error(req, Errors.TRANSACTIONAL_ID_AUTHORIZATION_FAILED));
        }
        if (!node.allowedOnGroup(ctx, AclOperation.READ, req.groupId())) {
            return CompletableFuture.completedFuture(error(req, Errors.GROUP_AUTHORIZATION_FAILED));
        }
        List<TxnOffsetCommitRequestData.TxnOffsetCommitRequestTopic> allowed = new ArrayList<>();
        List<TxnOffsetCommitRequestData.TxnOffsetCommitRequestTopic> refused = new ArrayList<>();
        for (TxnOffsetCommitRequestData.TxnOffsetCommitRequestTopic t : req.topics()) {
            (node.allowedOnTopic(ctx, AclOperation.READ, t.name()) ? allowed : refused).add(t);
        }
        TxnOffsetCommitResponseData refusedAnswer = error(req.duplicate().setTopics(refused),
                Errors.TOPIC_AUTHORIZATION_FAILED);
        if (allowed.isEmpty()) {
            return CompletableFuture.completedFuture(refusedAnswer);
        }
        TxnOffsetCommitRequestData permitted = refused.isEmpty() ? req : req.duplicate().setTopics(allowed);
        short v = ctx.apiVersion();
        return groups.<TxnOffsetCommitResponseData>call(req.groupId(), c -> {
            TxnOffsetCommitDecision decision = c.coordinator().commitTransactionalOffsets(permitted, v,
                    tp -> GroupHandlers.exists(node, tp), c.nowMs());
            return c.persistTransactional(decision.records(), decision.producerId(), decision.producerEpoch())
                    .handle((ok, e) -> e == null ? decision.response() : decision.failed(GroupHandlers.errorOf(e)));
        }, () -> error(permitted, Errors.NOT_COORDINATOR))
                .exceptionally(e -> error(permitted, GroupHandlers.errorOf(e)))
                .thenApply(answer -> {
                    answer.topics().addAll(refusedAnswer.topics());
                    return answer;
                });
    }

    /** Every partition of the request answered {@code error}. */
    private static TxnOffsetCommitResponseData error(TxnOffsetCommitRequestData req, Errors error) {
        TxnOffsetCommitResponseData response = new TxnOffsetCommitResponseData();
        for (TxnOffsetCommitRequestData.TxnOffsetCommitRequestTopic t : req.topics()) {
            TxnOffsetCommitResponseData.TxnOffsetCommitResponseTopic topic =
                    new TxnOffsetCommitResponseData.TxnOffsetCommitResponseTopic().setName(t.name());
            t.partitions().forEach(p -> topic.partitions().add(new TxnOffsetCommitResponseData
                    .TxnOffsetCommitResponsePartition().setPartitionIndex(p.partitionIndex())
                    .setErrorCode(error.code())));
            response.topics().add(topic);
        }
        return response;
    }
}
