package io.tributary.node.handlers;

/**
 * The end of a client connection, as the request in flight on it sees it. A long-polling fetch registers here so
 * that it stops waiting when its client goes away, instead of holding its waiter until {@code max.wait.ms} (which
 * the client chooses, up to 24 days). One slot is enough: a connection runs one request at a time.
 *
 * <p>Threads: any; the slot changes under the object's lock, and the registered action runs outside it.
 */
public final class ConnectionClose {

    private Runnable action;
    private boolean closed;

    /** For requests that do not come from a connection (tests, tools): never closes. */
    public static ConnectionClose never() {
        return new ConnectionClose();
    }

    /** Runs {@code onClose} when the connection closes (now, if it has), replacing what was registered before. */
    public void onClose(Runnable onClose) {
        synchronized (this) {
            if (!closed) {
                action = onClose;
                return;
            }
        }
        onClose.run();
    }

    /** Forgets the registered action (its request is done). */
    public synchronized void clear() {
        action = null;
    }

    public synchronized boolean isClosed() {
        return closed;
    }

    /** The connection closed: runs the registered action once. */
    public void close() {
        Runnable run;
        synchronized (this) {
            closed = true;
            run = action;
            action = null;
        }
        if (run != null) {
            run.run();
        }
    }
}
