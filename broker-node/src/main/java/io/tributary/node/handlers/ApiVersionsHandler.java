package io.tributary.node.handlers;

import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import org.apache.kafka.common.message.ApiVersionsResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.Errors;

/** ApiVersions v0-v4: the APIs and versions this node serves, exactly those of its handlers. */
public final class ApiVersionsHandler implements ApiHandler {

    private final Supplier<ApiVersionsResponseData.ApiVersionCollection> supported;

    public ApiVersionsHandler(Supplier<ApiVersionsResponseData.ApiVersionCollection> supported) {
        this.supported = supported;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.API_VERSIONS;
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
    public CompletableFuture<ApiMessage> handle(RequestContext context, ApiMessage request) {
        return CompletableFuture.completedFuture(new ApiVersionsResponseData()
                .setErrorCode(Errors.NONE.code())
                .setApiKeys(supported.get())
                .setZkMigrationReady(false));
    }
}
