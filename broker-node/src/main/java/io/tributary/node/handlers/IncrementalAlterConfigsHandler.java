package io.tributary.node.handlers;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.message.IncrementalAlterConfigsRequestData;
import org.apache.kafka.common.message.IncrementalAlterConfigsResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.requests.ApiError;

/**
 * IncrementalAlterConfigs v0-1 (KIP-339): SET, DELETE, APPEND and SUBTRACT on a topic's configs or a broker's dynamic
 * configs (KIP-226, per broker or cluster-wide), through the active controller ({@link ConfigAlterer});
 * {@code validate_only} validates without committing. Broker-logger resources are refused with INVALID_REQUEST, other
 * types likewise.
 */
public final class IncrementalAlterConfigsHandler implements ApiHandler {

    private final ConfigAlterer alterer;

    public IncrementalAlterConfigsHandler(NodeServices node) {
        this.alterer = new ConfigAlterer(node);
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.INCREMENTAL_ALTER_CONFIGS;
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
        IncrementalAlterConfigsRequestData request = (IncrementalAlterConfigsRequestData) message;
        List<ConfigAlterer.Alteration> alterations = new ArrayList<>();
        for (IncrementalAlterConfigsRequestData.AlterConfigsResource r : request.resources()) {
            List<ConfigAlterer.Op> ops = new ArrayList<>();
            r.configs().forEach(c -> ops.add(new ConfigAlterer.Op(c.name(), c.configOperation(), c.value())));
            alterations.add(new ConfigAlterer.Alteration(r.resourceType(), r.resourceName(), ops));
        }
        List<CompletableFuture<ApiError>> errors = alterer.alter(context, alterations, false, request.validateOnly());
        return CompletableFuture.allOf(errors.toArray(CompletableFuture[]::new)).thenApply(v -> {
            List<IncrementalAlterConfigsResponseData.AlterConfigsResourceResponse> responses = new ArrayList<>();
            for (int i = 0; i < alterations.size(); i++) {
                ApiError error = errors.get(i).join();
                responses.add(new IncrementalAlterConfigsResponseData.AlterConfigsResourceResponse()
                        .setResourceType(alterations.get(i).resourceType())
                        .setResourceName(alterations.get(i).resourceName())
                        .setErrorCode(error.error().code())
                        .setErrorMessage(error.message()));
            }
            return new IncrementalAlterConfigsResponseData().setResponses(responses);
        });
    }
}
