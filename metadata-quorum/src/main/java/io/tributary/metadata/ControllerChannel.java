package io.tributary.metadata;

import io.tributary.proto.metadata.ControllerRequest;
import io.tributary.proto.metadata.ControllerResponse;
import java.util.concurrent.CompletableFuture;

/**
 * How a broker reaches the active controller. In a cluster: Ratis read-only queries routed to the quorum leader
 * ({@link QuorumClient}); on a single node: a direct call. Implementations retry NOT_CONTROLLER answers until the
 * deadline, so callers see either the controller's answer or a failed future.
 */
@FunctionalInterface
public interface ControllerChannel {

    CompletableFuture<ControllerResponse> send(ControllerRequest request);
}
