package io.tributary.node.handlers;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.message.AlterConfigsRequestData;
import org.apache.kafka.common.message.AlterConfigsResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.requests.ApiError;

/**
 * AlterConfigs v0-2, the legacy whole-set replace: the given configs become the topic's only overrides (every other
 * override is deleted), through the active controller ({@link ConfigAlterer}); for a broker resource the given
 * configs become its whole set of dynamic configs (KIP-226). Broker-logger resources are refused with INVALID_REQUEST.
 */
public final class AlterConfigsHandler implements ApiHandler {

    /** Kafka's AlterConfigOp.OpType.SET. */
    private static final byte SET = 0;

    private final ConfigAlterer alterer;

    public AlterConfigsHandler(NodeServices node) {
        this.alterer = new ConfigAlterer(node);
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.ALTER_CONFIGS;
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
        AlterConfigsRequestData request = (AlterConfigsRequestData) message;
        List<ConfigAlterer.Alteration> alterations = new ArrayList<>();
        for (AlterConfigsRequestData.AlterConfigsResource r : request.resources()) {
            List<ConfigAlterer.Op> ops = new ArrayList<>();
            r.configs().forEach(c -> ops.add(new ConfigAlterer.Op(c.name(), SET, c.value())));
            alterations.add(new ConfigAlterer.Alteration(r.resourceType(), r.resourceName(), ops));
        }
        List<CompletableFuture<ApiError>> errors = alterer.alter(context, alterations, true, request.validateOnly());
        return CompletableFuture.allOf(errors.toArray(CompletableFuture[]::new)).thenApply(v -> {
            List<AlterConfigsResponseData.AlterConfigsResourceResponse> responses = new ArrayList<>();
            for (int i = 0; i < alterations.size(); i++) {
                ApiError error = errors.get(i).join();
                responses.add(new AlterConfigsResponseData.AlterConfigsResourceResponse()
                        .setResourceType(alterations.get(i).resourceType())
                        .setResourceName(alterations.get(i).resourceName())
                        .setErrorCode(error.error().code())
                        .setErrorMessage(error.message()));
            }
            return new AlterConfigsResponseData().setResponses(responses);
        });
    }
}
