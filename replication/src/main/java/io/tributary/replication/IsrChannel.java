package io.tributary.replication;

import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/** How a partition leader asks the active controller to change an ISR (AlterPartition). */
@FunctionalInterface
public interface IsrChannel {

    /**
     * Sends {@code proposal} for partition {@code partition} of topic {@code topicId}. Completes with the controller's
     * answer; completes with {@link IsrChangeResult#UNKNOWN} (or exceptionally) when there was none.
     */
    CompletableFuture<IsrChangeResult> alterIsr(UUID topicId, int partition, IsrProposal proposal);
}
