package io.tributary.metadata;

import java.io.Closeable;
import java.io.IOException;
import java.util.function.Supplier;
import org.apache.ratis.client.RaftClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Ratis client that is replaced after a failure. Ratis' ordered async client fails its whole sliding window after
 * one request exhausts its retries and refuses every later request ("RAFT is closed"); a client kept for the life of
 * the node would then wedge the controller or the broker's line to it for good. Callers report a failed request's
 * client with {@link #replace}; the next {@link #get} builds a fresh one and the old one is closed (its outstanding
 * requests fail, releasing their permits).
 *
 * <p>Threads: any.
 */
final class RaftClientHolder implements Closeable {

    private static final Logger log = LoggerFactory.getLogger(RaftClientHolder.class);

    private final String name;
    private final Supplier<RaftClient> factory;
    private RaftClient client;
    private long replacements;
    private boolean closed;

    RaftClientHolder(String name, Supplier<RaftClient> factory) {
        this.name = name;
        this.factory = factory;
        this.client = factory.get();
    }

    synchronized RaftClient get() {
        return client;
    }

    /** Replaces {@code failed} if it is still the current client (another caller may have replaced it already). */
    void replace(RaftClient failed, Throwable why) {
        RaftClient old;
        long count;
        synchronized (this) {
            if (closed || client != failed) {
                return;
            }
            old = client;
            client = factory.get();
            count = ++replacements;
        }
        log.info("{}: replacing the Ratis client after a failed request ({} replacements): {}", name, count,
                why.toString());
        closeQuietly(old);
    }

    private void closeQuietly(RaftClient old) {
        try {
            old.close();
        } catch (IOException | RuntimeException e) {
            log.debug("{}: closing a replaced Ratis client failed: {}", name, e.toString());
        }
    }

    @Override
    public void close() {
        RaftClient current;
        synchronized (this) {
            closed = true;
            current = client;
        }
        closeQuietly(current);
    }
}
