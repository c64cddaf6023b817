package io.tributary.node.metrics;

import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;

/** What the request dispatcher reports; {@link NodeMetrics} records it, {@link #NONE} drops it (tests). */
public interface RequestMetrics {

    RequestMetrics NONE = new RequestMetrics() {
        @Override
        public void requestHandled(ApiKeys api, long nanos) {
        }

        @Override
        public void requestFailed(ApiKeys api, Errors error) {
        }
    };

    /** A Kafka request was handled, from decoding to its response (or its failure), in {@code nanos}. */
    void requestHandled(ApiKeys api, long nanos);

    /** A response of {@code api} carried {@code error} (per partition for produce and fetch). */
    void requestFailed(ApiKeys api, Errors error);
}
