package io.tributary.node.network;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kafka's connection quotas, shared by every Kafka listener of the node: at most {@code max.connections} client
 * connections in all, and at most {@code max.connections.per.ip} from one address (with
 * {@code max.connections.per.ip.overrides} naming other limits for some addresses). A connection over a limit is
 * closed as soon as it is accepted, before it may send anything; the node keeps serving the others.
 *
 * <p>Threads: Netty event loops; counts are atomic. One instance per node, one handler per connection.
 */
public final class ConnectionLimits {

    private static final Logger log = LoggerFactory.getLogger(ConnectionLimits.class);

    private final int maxConnections;
    private final int maxPerIp;
    private final Map<String, Integer> overrides;
    private final AtomicInteger open = new AtomicInteger();
    /** Open connections by client address; an address leaves the map with its last connection. */
    private final Map<InetAddress, Integer> perIp = new ConcurrentHashMap<>();
    private final AtomicLong refused = new AtomicLong();

    /** @param overrides per address (as written: an IP address or host name) */
    public ConnectionLimits(int maxConnections, int maxPerIp, Map<String, Integer> overrides) {
        this.maxConnections = maxConnections;
        this.maxPerIp = maxPerIp;
        this.overrides = Map.copyOf(overrides);
    }

    /** Open client connections now. */
    public int openConnections() {
        return open.get();
    }

    /** Connections refused for a limit since the node started. */
    public long refusedConnections() {
        return refused.get();
    }

    private int limitFor(InetAddress address) {
        Integer limit = overrides.get(address.getHostAddress());
        if (limit == null) {
            limit = overrides.get(address.getHostName());
        }
        return limit == null ? maxPerIp : limit;
    }

    /** A new handler for one accepted connection (first in its pipeline). */
    ChannelHandler handler() {
        return new ChannelInboundHandlerAdapter() {
            private InetAddress counted;
            private boolean admitted;

            @Override
            public void channelActive(ChannelHandlerContext ctx) {
                InetAddress address = ctx.channel().remoteAddress() instanceof InetSocketAddress a
                        ? a.getAddress() : null;
                int total = open.incrementAndGet();
                admitted = true;
                int mine = address == null ? 0 : perIp.merge(address, 1, Integer::sum);
                counted = address;
                if (total > maxConnections || (address != null && mine > limitFor(address))) {
                    refused.incrementAndGet();
                    log.info("Refusing a connection from {}: {} open in all (max.connections {}), {} from that address "
                            + "(limit {})", address, total, maxConnections, mine,
                            address == null ? maxPerIp : limitFor(address));
                    ctx.close();
                    return;
                }
                ctx.fireChannelActive();
            }

            @Override
            public void channelInactive(ChannelHandlerContext ctx) {
                if (admitted) {
                    admitted = false;
                    open.decrementAndGet();
                    if (counted != null) {
                        perIp.computeIfPresent(counted, (a, n) -> n <= 1 ? null : n - 1);
                    }
                }
                ctx.fireChannelInactive();
            }
        };
    }
}
