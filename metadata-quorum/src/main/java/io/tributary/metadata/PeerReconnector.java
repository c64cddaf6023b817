package io.tributary.metadata;

import java.io.Closeable;
import java.lang.reflect.Method;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerRpcWithProxy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a voter's channels to the other voters from sitting in gRPC's reconnect backoff. A channel that failed to
 * connect waits 1 s, 1.6 s, 2.6 s ... up to two minutes before its next attempt, and an RPC made meanwhile fails at
 * once with UNAVAILABLE. Ratis' leader resets that backoff before each append retry, but vote requests go through
 * the same channels without a reset: after a voter was down for ~15 s, the others' pre-votes to it failed for 5-7 s
 * after it was back, and the quorum stayed without a leader that long (harness, kill seed 6). Every
 * {@link #INTERVAL_MS} this resets the backoff of every peer channel (a no-op for a connected channel), so that a
 * peer that listens again is reached within that interval.
 *
 * <p>Ratis keeps the reset method on a package-private class; it is called reflectively. If that is ever missing
 * (another Ratis version), this logs once and stops: elections still work, only slower after an outage.
 */
final class PeerReconnector implements Closeable {

    private static final Logger log = LoggerFactory.getLogger(PeerReconnector.class);
    static final long INTERVAL_MS = 250;

    private final RaftServer server;
    private final List<RaftPeerId> peers;
    private final AtomicLong resets = new AtomicLong();
    private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "ratis-peer-reconnector");
        t.setDaemon(true);
        return t;
    });
    private volatile boolean disabled;

    PeerReconnector(RaftServer server, List<RaftPeerId> peers) {
        this.server = server;
        this.peers = List.copyOf(peers);
    }

    void start() {
        thread.scheduleWithFixedDelay(this::resetAll, INTERVAL_MS, INTERVAL_MS, TimeUnit.MILLISECONDS);
    }

    /** Resets the connect backoff of every peer channel once; the number of channels reset. */
    int resetAll() {
        if (disabled || !(server.getServerRpc() instanceof RaftServerRpcWithProxy<?, ?> rpc)) {
            return 0;
        }
        int reset = 0;
        for (RaftPeerId peer : peers) {
            try {
                Object proxy = rpc.getProxies().getProxy(peer);
                Method method = proxy.getClass().getMethod("resetConnectBackoff");
                method.setAccessible(true);
                method.invoke(proxy);
                reset++;
            } catch (NoSuchMethodException | IllegalAccessException | RuntimeException e) {
                disabled = true;
                log.warn("cannot reset the Ratis connect backoff to {} ({}): elections after an outage may wait for "
                        + "gRPC's reconnect backoff", peer, e.toString());
                return reset;
            } catch (Exception e) {
                // The proxy could not be created (an unresolvable address): try again next time.
                log.debug("no Ratis proxy for {} yet: {}", peer, e.toString());
            }
        }
        resets.addAndGet(reset);
        return reset;
    }

    /** Channels reset since start (for tests). */
    long resets() {
        return resets.get();
    }

    @Override
    public void close() {
        thread.shutdownNow();
    }
}
