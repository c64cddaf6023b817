package io.tributary.node.handlers;

import io.tributary.proto.metadata.ControllerErrorCode;
import io.tributary.proto.metadata.ControllerRequest;
import io.tributary.proto.metadata.UnregisterBrokerRequest;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.message.UnregisterBrokerRequestData;
import org.apache.kafka.common.message.UnregisterBrokerResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.Errors;

/**
 * UnregisterBroker v0 (KIP-631; {@code kafka-cluster unregister --id N}, {@code Admin.unregisterBroker}): removes a
 * drained node's registration through the active controller, answered once this node's metadata shows it gone. ALTER
 * on the cluster, else CLUSTER_AUTHORIZATION_FAILED; BROKER_ID_NOT_REGISTERED for an unknown id, as in Kafka.
 * Differs from Kafka: refused with INVALID_REQUEST while any partition still names the broker among its replicas
 * (Kafka takes it out of the ISRs and leaves the replicas behind); move them first with
 * {@code kafka-reassign-partitions}.
 */
public final class UnregisterBrokerHandler implements ApiHandler {

    private final NodeServices node;

    public UnregisterBrokerHandler(NodeServices node) {
        this.node = node;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.UNREGISTER_BROKER;
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
        UnregisterBrokerRequestData request = (UnregisterBrokerRequestData) message;
        if (!node.allowedOnCluster(context, AclOperation.ALTER)) {
            return CompletableFuture.completedFuture(answer(Errors.CLUSTER_AUTHORIZATION_FAILED, null));
        }
        return node.sendToControllerAndAwait(ControllerRequest.newBuilder().setUnregisterBroker(
                UnregisterBrokerRequest.newBuilder().setBrokerId(request.brokerId())).build())
                .handle((answer, failure) -> {
                    if (failure != null) {
                        return answer(Errors.REQUEST_TIMED_OUT, "the controller did not answer in time");
                    }
                    if (answer.getError() != ControllerErrorCode.NONE) {
                        return answer(TopicCreator.error(answer), answer.getErrorMessage());
                    }
                    return answer(Errors.NONE, null);
                });
    }

    private static ApiMessage answer(Errors error, String message) {
        return new UnregisterBrokerResponseData().setErrorCode(error.code()).setErrorMessage(message);
    }
}
