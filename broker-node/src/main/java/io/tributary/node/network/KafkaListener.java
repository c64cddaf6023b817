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
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import java.io.Closeable;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * The Kafka client listener: accepts TCP connections, cuts the byte stream into size-prefixed frames (Kafka's
 * framing: a 4-byte big-endian length, then that many bytes), and hands each connection's frames to a
 * {@link KafkaConnection}. A frame longer than {@code maxFrameBytes}, or with a negative length, closes that
 * connection only.
 *
 * <p>Threads: Netty event loops ({@code numNetworkThreads}) do the socket I/O; requests run on the dispatcher's
 * executor. Lifecycle: {@link #start()} once, {@link #close()} once.
 */
public final class KafkaListener implements Closeable {

    private final String host;
    private final int port;
    private final int maxFrameBytes;
    private final RequestDispatcher dispatcher;
    private final EventLoopGroup bossGroup = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final EventLoopGroup workerGroup = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    private Channel serverChannel;

    public KafkaListener(String host, int port, int maxFrameBytes, RequestDispatcher dispatcher) {
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
                        ch.pipeline().addLast("frames",
                                new LengthFieldBasedFrameDecoder(maxFrameBytes, 0, 4, 0, 4, true));
                        ch.pipeline().addLast("requests", new KafkaConnection(dispatcher));
                    }
                });
        serverChannel = bootstrap.bind(new InetSocketAddress(host, port)).sync().channel();
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
