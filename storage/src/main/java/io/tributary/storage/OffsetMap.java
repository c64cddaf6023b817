package io.tributary.storage;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The cleaner's key -> latest offset map, in a fixed amount of memory (Kafka's {@code SkimpyOffsetMap}): each key is
 * reduced to its 128-bit MD5 hash, and a slot is the hash plus the offset, 24 bytes, in one {@code long[]}, with
 * linear probing. It is full at 90% of its slots; the cleaner then stops adding keys at a segment boundary. Two keys
 * with the same hash would be taken for one (as in Kafka; about 2^-64 per pair).
 *
 * <p>Not thread-safe: one cleaner uses it at a time.
 */
final class OffsetMap {

    static final int BYTES_PER_ENTRY = 24;
    private static final double MAX_LOAD = 0.9;

    private final long[] slots;
    private final int capacity;
    private final int maxEntries;
    private final MessageDigest md5;
    private int entries;

    /** A map of at most {@code memoryBytes} (at least one slot). */
    OffsetMap(long memoryBytes) {
        this.capacity = (int) Math.max(1, Math.min(Integer.MAX_VALUE / 3, memoryBytes / BYTES_PER_ENTRY));
        this.slots = new long[capacity * 3];
        this.maxEntries = Math.max(1, (int) (capacity * MAX_LOAD));
        try {
            this.md5 = MessageDigest.getInstance("MD5");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no MD5", e);
        }
        clear();
    }

    void clear() {
        java.util.Arrays.fill(slots, 0L);
        for (int i = 0; i < capacity; i++) {
            slots[i * 3 + 2] = -1; // offset -1: the slot is free
        }
        entries = 0;
    }

    int size() {
        return entries;
    }

    boolean isFull() {
        return entries >= maxEntries;
    }

    /** Records {@code offset} as the latest of {@code key} (offsets only grow per key: the cleaner scans in order). */
    void put(ByteBuffer key, long offset) {
        long[] h = hash(key);
        int i = find(h[0], h[1]);
        if (slots[i * 3 + 2] < 0) {
            if (isFull()) {
                throw new IllegalStateException("offset map is full (" + entries + " keys)");
            }
            slots[i * 3] = h[0];
            slots[i * 3 + 1] = h[1];
            entries++;
        }
        slots[i * 3 + 2] = offset;
    }

    /** The latest offset recorded for {@code key}, or -1. */
    long get(ByteBuffer key) {
        long[] h = hash(key);
        return slots[find(h[0], h[1]) * 3 + 2];
    }

    /** The slot holding the hash, or the free slot where it would go. */
    private int find(long h1, long h2) {
        int i = (int) Long.remainderUnsigned(h1 ^ (h2 * 31), capacity);
        while (true) {
            if (slots[i * 3 + 2] < 0 || (slots[i * 3] == h1 && slots[i * 3 + 1] == h2)) {
                return i;
            }
            i = i + 1 == capacity ? 0 : i + 1;
        }
    }

    private long[] hash(ByteBuffer key) {
        md5.reset();
        md5.update(key.duplicate());
        ByteBuffer digest = ByteBuffer.wrap(md5.digest());
        return new long[] {digest.getLong(), digest.getLong()};
    }
}
