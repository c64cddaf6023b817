package io.tributary.node.handlers;

import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.message.InitProducerIdRequestData;
import org.apache.kafka.common.message.InitProducerIdResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.resource.ResourceType;

/**
 * InitProducerId v0-v5 for idempotent producers: a new producer id with epoch 0, or, when a producer asks to bump
 * the epoch of its id (KIP-360, v3+), the next epoch (a new id once the epoch would overflow). With a transactional
 * id the request goes to the id's transaction coordinator ({@link TransactionHandlers#initProducerId}).
 */
public final class InitProducerIdHandler implements ApiHandler {

    private final NodeServices node;
    private final io.tributary.node.txn.TransactionService txns;

    public InitProducerIdHandler(NodeServices node, io.tributary.node.txn.TransactionService txns) {
        this.node = node;
        this.txns = txns;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.INIT_PRODUCER_ID;
    }

    @Override
    public short minVersion() {
        return 0;
    }

    @Override
    public short maxVersion() {
        return 5;
    }

    @Override
    public CompletableFuture<ApiMessage> handle(RequestContext context, ApiMessage message) {
        InitProducerIdRequestData request = (InitProducerIdRequestData) message;
        InitProducerIdResponseData response = new InitProducerIdResponseData().setProducerId(-1).setProducerEpoch(
                (short) -1);
        if (request.transactionalId() != null) {
            return TransactionHandlers.initProducerId(node, txns, context, request);
        }
        // Kafka: IDEMPOTENT_WRITE on the cluster, or WRITE on at least one topic.
        if (!node.allowedOnCluster(context, AclOperation.IDEMPOTENT_WRITE)
                && !node.authorizer().allowedOnAny(context.principal(), context.clientHost(), AclOperation.WRITE,
                        ResourceType.TOPIC)) {
            return CompletableFuture.completedFuture(
                    response.setErrorCode(Errors.CLUSTER_AUTHORIZATION_FAILED.code()));
        }
        if (request.producerId() >= 0 && request.producerEpoch() >= 0 && request.producerEpoch() < Short.MAX_VALUE - 1) {
            return CompletableFuture.completedFuture(response.setErrorCode(Errors.NONE.code())
                    .setProducerId(request.producerId())
                    .setProducerEpoch((short) (request.producerEpoch() + 1)));
        }
        return CompletableFuture.supplyAsync(() -> response.setErrorCode(Errors.NONE.code())
                .setProducerId(node.producerIds().nextProducerId())
                .setProducerEpoch((short) 0));
    }
}
