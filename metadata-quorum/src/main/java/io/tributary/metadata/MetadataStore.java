package io.tributary.metadata;

import io.tributary.proto.metadata.MetadataRecord;
import java.io.Closeable;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The committed, ordered log of metadata records and the image it replays to. A single node keeps it in a local
 * file ({@link LocalMetadataStore}); a cluster keeps it in a Ratis quorum ({@link RatisMetadataStore}). Only the
 * active controller commits; every node applies the records in the same order.
 */
public interface MetadataStore extends MetadataView, Closeable {

    /**
     * Commits the records as one atomic batch. The future completes, after the batch is durable and applied,
     * with the image that includes it.
     */
    CompletableFuture<MetadataImage> commit(List<MetadataRecord> records);

    /**
     * Commits the records as one batch fenced by the controller's Raft {@code term}: if the quorum appends it in
     * another term (the controller was deposed and its write reached the new leader), no node applies it and the
     * future fails with {@link FencedBatchException}. A store without terms commits it as {@link #commit(List)}.
     */
    default CompletableFuture<MetadataImage> commit(List<MetadataRecord> records, long term) {
        return commit(records);
    }
}
