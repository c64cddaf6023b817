package io.tributary.replication;

import io.tributary.storage.LogAppendResult;
import java.util.concurrent.CompletableFuture;

/**
 * A leader append and, for acks=all, a future completed once the high watermark passes the appended batches
 * (exceptionally with NOT_LEADER_OR_FOLLOWER if the leader epoch changes first, or NOT_ENOUGH_REPLICAS_AFTER_APPEND
 * if the ISR fell below min.insync.replicas). For acks 0 and 1 the future is already complete.
 */
public record AppendOutcome(LogAppendResult result, CompletableFuture<Void> committed) {}
