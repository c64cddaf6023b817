package io.tributary.storage;

/**
 * The answer to "where does leader epoch N end?" (Kafka's OffsetForLeaderEpoch, KIP-101/KIP-279/KIP-320): the
 * largest epoch at or below the requested one that this log knows, and the end offset (exclusive) of that epoch,
 * i.e. the start offset of the next larger epoch, or the log end offset for the latest epoch.
 * {@link #UNDEFINED} ({@code -1, -1}, Kafka's {@code UNDEFINED_EPOCH} / {@code UNDEFINED_EPOCH_OFFSET}) when the log
 * cannot say.
 */
public record EpochEndOffset(int epoch, long endOffset) {
    public static final int UNDEFINED_EPOCH = -1;
    public static final long UNDEFINED_EPOCH_OFFSET = -1L;
    public static final EpochEndOffset UNDEFINED = new EpochEndOffset(UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET);

    public boolean isUndefined() {
        return endOffset == UNDEFINED_EPOCH_OFFSET;
    }
}
