package io.tributary.metadata;

/**
 * A node's view of the committed metadata: the latest image it has applied, and notice of every change. Voters see
 * the quorum's state machine; other brokers see what heartbeats bring them from the active controller.
 */
public interface MetadataView {

    /** The latest applied image; never null. Safe from any thread. */
    MetadataImage image();

    /**
     * Registers a listener told about every applied change, in order, on the applying thread. A listener must not
     * block for long; it is also called once, at registration, with the current image.
     */
    void addListener(MetadataListener listener);

    /** Told about each change of the image. */
    @FunctionalInterface
    interface MetadataListener {
        void onImage(MetadataImage previous, MetadataImage next);
    }
}
