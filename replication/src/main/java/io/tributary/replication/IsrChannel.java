package io.tributary.replication;

import io.tributary.metadata.PartitionImage;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/** How a partition leader asks the active controller to change an ISR (AlterPartition). */
@FunctionalInterface
public interface IsrChannel {

    /** Completes true if the controller committed the change, false if it refused it. */
    CompletableFuture<Boolean> alterIsr(UUID topicId, PartitionImage current, List<Integer> newIsr);
}
