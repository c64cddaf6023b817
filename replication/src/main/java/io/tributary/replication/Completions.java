package io.tributary.replication;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * acks=all and DeleteRecords waiters a partition decided to complete, successfully or with an error. Decided under
 * the partition's lock, {@link #run run} after it is released (a completion may run client code).
 */
public final class Completions {

    public static final Completions NONE = new Completions();

    private final List<CompletableFuture<Void>> succeeded = new ArrayList<>();
    private final List<CompletableFuture<Void>> failed = new ArrayList<>();
    private final List<ReplicaException> errors = new ArrayList<>();
    /** DeleteRecords waiters: each completes with the low watermark. */
    private final List<CompletableFuture<Long>> lowWatermarkFutures = new ArrayList<>();
    private final List<Long> lowWatermarks = new ArrayList<>();
    private final List<CompletableFuture<Long>> failedLowWatermarkFutures = new ArrayList<>();
    private final List<ReplicaException> lowWatermarkErrors = new ArrayList<>();

    void succeed(CompletableFuture<Void> waiter) {
        succeeded.add(waiter);
    }

    void fail(CompletableFuture<Void> waiter, ReplicaException error) {
        failed.add(waiter);
        errors.add(error);
    }

    void succeed(CompletableFuture<Long> waiter, long lowWatermark) {
        lowWatermarkFutures.add(waiter);
        lowWatermarks.add(lowWatermark);
    }

    void failLowWatermark(CompletableFuture<Long> waiter, ReplicaException error) {
        failedLowWatermarkFutures.add(waiter);
        lowWatermarkErrors.add(error);
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
        for (int i = 0; i < lowWatermarkFutures.size(); i++) {
            lowWatermarkFutures.get(i).complete(lowWatermarks.get(i));
        }
        for (int i = 0; i < failedLowWatermarkFutures.size(); i++) {
            failedLowWatermarkFutures.get(i).completeExceptionally(lowWatermarkErrors.get(i));
        }
    }
}
