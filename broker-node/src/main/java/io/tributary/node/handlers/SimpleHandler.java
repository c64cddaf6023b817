package io.tributary.node.handlers;

import java.util.concurrent.CompletableFuture;
import java.util.function.BiFunction;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;

/** A handler of one API over a version range, as a function (the group and transaction APIs are built of these). */
record SimpleHandler(ApiKeys apiKey, int min, int max,
        BiFunction<RequestContext, ApiMessage, CompletableFuture<? extends ApiMessage>> body) implements ApiHandler {

    @Override
    public short minVersion() {
        return (short) min;
    }

    @Override
    public short maxVersion() {
        return (short) max;
    }

    @Override
    public CompletableFuture<ApiMessage> handle(RequestContext context, ApiMessage request) {
        return body.apply(context, request).thenApply(m -> m);
    }
}
