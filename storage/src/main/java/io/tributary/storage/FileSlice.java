package io.tributary.storage;

import java.nio.channels.FileChannel;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@code size} bytes of a segment file from {@code position}, on a read-only handle that stays readable until the
 * slice is released, whatever happens to the segment meanwhile (handed out by {@link FileSlices}). Whoever sends the
 * slice calls {@link #release} once it is sent or dropped; a second call does nothing.
 */
public final class FileSlice {
    private final ReadHandle handle;
    private final int position;
    private final int size;
    private final FileSlices owner;
    private final AtomicBoolean released = new AtomicBoolean();

    FileSlice(ReadHandle handle, int position, int size, FileSlices owner) {
        this.handle = handle;
        this.position = position;
        this.size = size;
        this.owner = owner;
    }

    /** The read-only handle to read or send the slice from (positional reads only: it is shared). */
    public FileChannel channel() {
        return handle.channel();
    }

    public int position() {
        return position;
    }

    public int size() {
        return size;
    }

    /** Gives the slice's hold on its handle back (idempotent). */
    public void release() {
        if (released.compareAndSet(false, true)) {
            handle.release();
            owner.released();
        }
    }

    @Override
    public String toString() {
        return "FileSlice(position=" + position + ", size=" + size + ")";
    }
}
