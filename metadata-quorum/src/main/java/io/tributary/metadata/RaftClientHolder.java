package io.tributary.metadata;

import java.io.Closeable;
import java.io.IOException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.ratis.protocol.RaftPeerId;
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
 * <p>A fresh client knows no leader and tries the voters in turn (each a timeout if the voter is down or cut off):
 * it is built with a leader hint instead, the local voter's view of the leader when there is one, else the server
 * that last answered a request ({@link #noteLeader}).
 *
 * <p>Threads: any.
 */
final class RaftClientHolder implements Closeable {

    private static final Logger log = LoggerFactory.getLogger(RaftClientHolder.class);

    private final String name;
    private final Function<RaftPeerId, RaftClient> factory;
    private volatile Supplier<RaftPeerId> localLeader = () -> null;
    private volatile RaftPeerId lastLeader;
    private RaftClient client;
    private long replacements;
    private boolean closed;

    /** @param factory builds a client, with the leader hint it is given when not null */
    RaftClientHolder(String name, Function<RaftPeerId, RaftClient> factory) {
        this.name = name;
        this.factory = factory;
        this.client = factory.apply(null);
    }

    /** Where this node's own Raft server sees the leader (voters); null when it does not know. */
    void setLocalLeaderView(Supplier<RaftPeerId> localLeader) {
        this.localLeader = localLeader;
    }

    /** The server that answered a request successfully: the leader, as far as the client can tell. */
    void noteLeader(RaftPeerId serverId) {
        if (serverId != null) {
            lastLeader = serverId;
        }
    }

    /** The leader this node's own Raft server knows (voters); null when it knows none or is not a voter. */
    RaftPeerId localLeader() {
        try {
            return localLeader.get();
        } catch (RuntimeException e) {
            return null; // The local server is closing.
        }
    }

    private RaftPeerId leaderHint() {
        RaftPeerId local = localLeader();
        return local != null ? local : lastLeader;
    }

    synchronized RaftClient get() {
        return client;
    }

    /** Replaces {@code failed} if it is still the current client (another caller may have replaced it already). */
    void replace(RaftClient failed, Throwable why) {
        swap(failed, leaderHint(), "replacing the Ratis client after a failed request: " + why);
    }

    /**
     * The current client, first replaced by one aimed at the leader this node's own Raft server knows when that
     * differs from the client's (a client still aimed at a leader that went silent holds requests for Ratis'
     * request timeout).
     */
    RaftClient atLocalLeader() {
        RaftClient current = get();
        RaftPeerId local = localLeader();
        if (local != null && !local.equals(current.getLeaderId())) {
            return retarget(current, local, "the local Raft server follows " + local);
        }
        return current;
    }

    /**
     * Replaces {@code current} (if it still is the current client) by one that sends to {@code leader} first: the
     * requests still outstanding on the old one fail and are retried by their callers. The client to use next.
     */
    RaftClient retarget(RaftClient current, RaftPeerId leader, String why) {
        return swap(current, leader, "sending to " + leader + " from now on (" + why + ")");
    }

    /** Replaces {@code current}, if it still is the current client, by one aimed at {@code leader} (null: none). */
    private RaftClient swap(RaftClient current, RaftPeerId leader, String why) {
        RaftClient old;
        RaftClient next;
        long count;
        synchronized (this) {
            if (closed || client != current) {
                return client;
            }
            old = client;
            client = factory.apply(leader);
            next = client;
            count = ++replacements;
        }
        log.info("{}: {} ({} replacements)", name, why, count);
        closeLater(old);
        return next;
    }

    /**
     * Closes replaced clients off the caller's thread: closing waits up to seconds for gRPC channels to a silent
     * peer to shut down, and callers include the JDK's one timeout thread (orTimeout): a close there held every
     * timeout and retry of the node for 3 s, long enough for a new controller to fence the node (ControllerPauseIT).
     * Bounded: closes wait in a queue of {@value #CLOSE_QUEUE}; beyond it the caller closes (replacements come at
     * most one per failed request, so the queue fills only if closing stalls for long).
     */
    private static final int CLOSE_QUEUE = 64;
    private static final ThreadPoolExecutor CLOSER = new ThreadPoolExecutor(2, 2, 30, TimeUnit.SECONDS,
            new ArrayBlockingQueue<>(CLOSE_QUEUE), r -> {
                Thread t = new Thread(r, "ratis-client-closer");
                t.setDaemon(true);
                return t;
            }, new ThreadPoolExecutor.CallerRunsPolicy());

    static {
        CLOSER.allowCoreThreadTimeOut(true);
    }

    private void closeLater(RaftClient old) {
        CLOSER.execute(() -> closeQuietly(old));
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
