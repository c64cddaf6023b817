package io.tributary.storage;

/**
 * One entry of the {@link LeaderEpochCache}: the first offset written in a leader epoch (Kafka's {@code EpochEntry},
 * KIP-101). Both values are non-negative; an epoch's records run from {@code startOffset} to the next entry's start
 * offset (exclusive), or to the log end offset for the latest epoch.
 */
public record EpochEntry(int epoch, long startOffset) {
    public EpochEntry {
        if (epoch < 0 || startOffset < 0) {
            throw new IllegalArgumentException("Invalid leader epoch entry: epoch=" + epoch + " startOffset="
                    + startOffset);
        }
    }
}
