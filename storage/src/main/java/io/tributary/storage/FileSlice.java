package io.tributary.storage;

import java.nio.channels.FileChannel;

/**
 * {@code size} bytes of a segment file from {@code position}, on a read-only handle of the slice's own (opened by
 * {@link FileSlices#open}, closed by {@link FileSlices#close}).
 */
public record FileSlice(FileChannel channel, int position, int size) {
}
