package io.tributary.replication;

import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.IoHandlerFactory;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.nio.NioIoHandler;
import io.grpc.netty.shaded.io.netty.channel.socket.SocketChannel;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * The replica fetcher threads of a node (Kafka's {@code ReplicaFetcherThread}s): a small event-loop group of its own
 * on which every {@link ReplicaFetcher}'s gRPC connection runs, with the fetcher's callbacks run directly on the
 * connection's thread. An answer is read, appended to the follower's log and followed by the next fetch on one
 * thread, with no hand-off to gRPC's executor and back per answer.
 *
 * <p>A fetcher thread may block on its disk (an append, a segment roll) as Kafka's fetcher threads do; the loops
 * serve fetcher connections only, so that never delays the leader side of replication, the Kafka listener or the
 * metadata quorum, which run on other threads.
 */
final class FetcherLoops implements AutoCloseable {

    /** Fetcher threads; each serves the connections to some of the leaders (one per leader node). */
    static final int DEFAULT_THREADS = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));

    private final EventLoopGroup group;
    private final Class<? extends SocketChannel> channelType;

    FetcherLoops(int threads) {
        boolean epoll = Epoll.isAvailable();
        IoHandlerFactory handlers = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        this.group = new MultiThreadIoEventLoopGroup(threads, daemonThreads(), handlers);
        this.channelType = epoll ? EpollSocketChannel.class : NioSocketChannel.class;
    }

    /** Makes {@code builder}'s channel run on these threads, its callbacks directly on its connection's thread. */
    NettyChannelBuilder configure(NettyChannelBuilder builder) {
        return builder.eventLoopGroup(group).channelType(channelType).directExecutor();
    }

    @Override
    public void close() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    /** Netty's own thread factory: its threads keep Netty's fast thread-locals (buffer pools, recyclers). */
    private static ThreadFactory daemonThreads() {
        return new DefaultThreadFactory("replica-fetcher-io", true);
    }
}
