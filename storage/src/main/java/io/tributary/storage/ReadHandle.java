package io.tributary.storage;

import java.nio.channels.FileChannel;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A read-only handle of a segment file shared by the {@link FileSlice}s cut from it, closed when the last holder
 * releases it. The active segment holds one reference of its own while it stays active, so that consumers tailing
 * the log reuse one handle instead of opening and closing the file for every fetch.
 */
final class ReadHandle {
    private final FileChannel channel;
    private final AtomicInteger refs;

    ReadHandle(FileChannel channel, int refs) {
        this.channel = channel;
        this.refs = new AtomicInteger(refs);
    }

    FileChannel channel() {
        return channel;
    }

    /** One more holder, unless the handle is already closed (then false). */
    boolean retain() {
        while (true) {
            int n = refs.get();
            if (n == 0) {
                return false;
            }
            if (refs.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    /** One holder fewer; the last one closes the handle. */
    void release() {
        if (refs.decrementAndGet() == 0) {
            try {
                channel.close();
            } catch (java.io.IOException ignored) {
                // a read-only handle: nothing was written that a failed close could lose
            }
        }
    }
}
