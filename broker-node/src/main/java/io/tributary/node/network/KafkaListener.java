package io.tributary.node.network;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.SslHandler;
import java.io.Closeable;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;
import org.apache.kafka.common.security.ssl.SslFactory;

/**
 * The Kafka client listener: accepts TCP connections and hands each to a {@link KafkaConnection}, which cuts its
 * byte stream into Kafka's size-prefixed frames within the node's {@link RequestMemoryPool}. A frame longer than
 * {@code maxFrameBytes}, or with a negative length, closes that connection only.
 *
 * <p>Threads: Netty event loops ({@code numNetworkThreads}) do the socket I/O; requests run on the dispatcher's
 * executor. Lifecycle: {@link #start()} once, {@link #close()} once.
 */
public final class KafkaListener implements Closeable {

    /** A TLS handshake that has not finished after this long closes the connection. */
    static final long HANDSHAKE_TIMEOUT_MS = 10_000;

    private final String listenerName;
    private final String host;
    private final int port;
    private final int maxFrameBytes;
    private final long maxIdleMs;
    private final ConnectionLimits limits;
    private final RequestMemoryPool memory;
    private final RequestDispatcher dispatcher;
    /** Server-side TLS engines for an SSL listener; null for PLAINTEXT. */
    private final SslFactory ssl;
    /** A SASL exchange per connection on a SASL listener; null for none. */
    private final Supplier<SaslSession> sasl;
    private final EventLoopGroup bossGroup = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final EventLoopGroup workerGroup = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    private Channel serverChannel;

    /**
     * @param listenerName the listener's name: requests carry it, so that answers name brokers by their endpoint on
     *     the same listener
     * @param ssl TLS for this listener (Kafka's SslFactory in server mode), or null for plaintext
     * @param sasl a new SASL exchange per connection on a SASL listener, or null for none
     */
    public KafkaListener(String listenerName, String host, int port, int maxFrameBytes, long maxIdleMs,
            ConnectionLimits limits, RequestMemoryPool memory, RequestDispatcher dispatcher, SslFactory ssl,
            Supplier<SaslSession> sasl) {
        this.maxIdleMs = maxIdleMs;
        this.memory = memory;
        this.limits = limits;
        this.listenerName = listenerName;
        this.ssl = ssl;
        this.sasl = sasl;
        this.host = host;
        this.port = port;
        this.maxFrameBytes = maxFrameBytes;
        this.dispatcher = dispatcher;
    }

    public void start() throws InterruptedException {
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(bossGroup, workerGroup)
                .channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        // Connection quotas first: a connection over a limit is closed before it may send anything.
                        ch.pipeline().addLast("limits", limits.handler());
                        // connections.max.idle.ms: a connection with no read and no write for that long is closed,
                        // as in Kafka (a client that never logs in or a half-open socket does not stay forever).
                        ch.pipeline().addLast("idle", new io.netty.handler.timeout.IdleStateHandler(0, 0, maxIdleMs,
                                TimeUnit.MILLISECONDS) {
                            @Override
                            protected void channelIdle(io.netty.channel.ChannelHandlerContext ctx,
                                    io.netty.handler.timeout.IdleStateEvent event) {
                                // Reads paused by back-pressure (memory or in-flight limits) are this node's
                                // doing, not the client's: such a connection is waiting on us, not idle.
                                if (!ctx.channel().config().isAutoRead()) {
                                    return;
                                }
                                ctx.close();
                            }
                        });
                        if (ssl != null) {
                            // TLS first: Kafka frames travel inside it. A client that does not complete the handshake
                            // (plaintext bytes, an untrusted certificate) is closed by the handler.
                            SSLEngine engine = ssl.createSslEngine(ch.remoteAddress().getAddress().getHostAddress(),
                                    ch.remoteAddress().getPort());
                            SslHandler tls = new SslHandler(engine);
                            tls.setHandshakeTimeoutMillis(HANDSHAKE_TIMEOUT_MS);
                            ch.pipeline().addLast("tls", tls);
                        }
                        SaslSession session = sasl == null ? null : sasl.get();
                        ch.pipeline().addLast("requests", new KafkaConnection(dispatcher, listenerName, session,
                                maxFrameBytes, memory));
                    }
                });
        serverChannel = bootstrap.bind(new InetSocketAddress(host, port)).sync().channel();
    }

    public String name() {
        return listenerName;
    }

    public String host() {
        return host;
    }

    /** The bound port (useful when configured as 0). */
    public int port() {
        return ((InetSocketAddress) serverChannel.localAddress()).getPort();
    }

    @Override
    public void close() {
        if (serverChannel != null) {
            serverChannel.close().awaitUninterruptibly();
        }
        bossGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
        workerGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
    }
}
