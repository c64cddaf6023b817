package io.tributary.replication;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * acks=all waiters a partition decided to complete, successfully or with an error. Decided under the partition's
 * lock, {@link #run run} after it is released (a completion may run client code).
 */
public final class Completions {

    public static final Completions NONE = new Completions();

    private final List<CompletableFuture<Void>> succeeded = new ArrayList<>();
    private final List<CompletableFuture<Void>> failed = new ArrayList<>();
    private final List<ReplicaException> errors = new ArrayList<>();

    void succeed(CompletableFuture<Void> waiter) {
        succeeded.add(waiter);
    }

    void fail(CompletableFuture<Void> waiter, ReplicaException error) {
        failed.add(waiter);
        errors.add(error);
    }

    /** Completes the waiters. Call without holding the partition's lock. */
    public void run() {
        if (this == NONE) {
            return;
        }
        succeeded.forEach(f -> f.complete(null));
        for (int i = 0; i < failed.size(); i++) {
            failed.get(i).completeExceptionally(errors.get(i));
        }
    }
}
