package io.tributary.node.handlers;

import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;

/**
 * Serves one Kafka API over a stated version range. A handler gets the decoded request data class of its API and
 * returns the response data class (null: send no response, for acks=0 produce). Operating errors go into the
 * response as Kafka error codes; an exception means a bug and is answered with UNKNOWN_SERVER_ERROR.
 *
 * <p>Threads: called on an I/O thread, or on the connection's network thread where {@link #runsOnNetworkThread}
 * says so; may complete the future later from any thread, but must not block an I/O thread waiting for other
 * requests.
 */
public interface ApiHandler {

    ApiKeys apiKey();

    short minVersion();

    short maxVersion();

    CompletableFuture<ApiMessage> handle(RequestContext context, ApiMessage request);

    /**
     * Whether {@link #handle} may run on the connection's network thread for this request: it never blocks the
     * calling thread (no disk sync, no lock held for long, waits are futures). Otherwise it runs on the io threads,
     * which costs a hand-off there and another back to the network thread for the answer.
     */
    default boolean runsOnNetworkThread(RequestContext context, ApiMessage request) {
        return false;
    }
}
