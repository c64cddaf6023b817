package io.tributary.metadata;

import io.tributary.proto.metadata.MetadataRecord;
import java.io.Closeable;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The committed, ordered log of metadata records and the image it replays to. A single node keeps it in a local
 * file ({@link LocalMetadataStore}); a cluster keeps it in a Ratis quorum. Callers never change the image
 * directly: they commit records, and every node applies them in the same order.
 */
public interface MetadataStore extends Closeable {

    /** The latest applied image; never null. Safe from any thread. */
    MetadataImage image();

    /**
     * Commits the records as one atomic batch. The future completes, after the batch is durable and applied,
     * with the image that includes it.
     */
    CompletableFuture<MetadataImage> commit(List<MetadataRecord> records);

    /**
     * Registers a listener told about every applied batch, in order, on the store's apply thread. A listener must
     * not block; it is also called once, at registration, with the current image.
     */
    void addListener(MetadataListener listener);

    /** Told about each change of the image. */
    @FunctionalInterface
    interface MetadataListener {
        void onImage(MetadataImage previous, MetadataImage next);
    }
}
