package io.tributary.node.network;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import javax.net.ssl.SSLPeerUnverifiedException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection. Requests of a connection are handled strictly one at a time, in arrival order, as Kafka
 * does: the next request starts only when the previous one's response is written (or, for acks=0 produce, when it
 * has been handled). This keeps idempotent produce batches of one producer in order.
 *
 * <p>States: reading while fewer than {@link #MAX_QUEUED_FRAMES} frames wait; paused (auto-read off) above that, and
 * while the node's io queue is full (the request waiting for room is offered again every {@link #BUSY_RETRY_MS} ms:
 * backpressure, never a dropped request); closing on a framing error, an undecodable request, or when the
 * dispatcher asks to close. Requests read before the client closed its side are still handled. All fields are
 * touched only on the connection's event loop.
 */
final class KafkaConnection extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(KafkaConnection.class);
    private static final int MAX_QUEUED_FRAMES = 16;
    /** How long a connection waits before it offers a request again to a full io queue. */
    private static final long BUSY_RETRY_MS = 5;

    private final RequestDispatcher dispatcher;
    private final String listenerName;
    /** This connection's SASL exchange on a SASL listener; null elsewhere. */
    private final SaslSession sasl;
    private final ArrayDeque<ByteBuffer> queued = new ArrayDeque<>();
    private boolean inFlight;
    private ChannelHandlerContext ctx;
    private String clientAddress = "unknown";
    /** The node closes this connection: no further request is started. */
    private boolean closing;
    /** A request waits for room in the io queue: reading stays off until it is taken. */
    private boolean busy;
    /** The client certificate's subject once a TLS handshake with client authentication completed, else null. */
    private String sslPrincipal;

    KafkaConnection(RequestDispatcher dispatcher, String listenerName, SaslSession sasl) {
        this.dispatcher = dispatcher;
        this.listenerName = listenerName;
        this.sasl = sasl;
    }

    @Override
    public void channelActive(ChannelHandlerContext context) {
        this.ctx = context;
        if (context.channel().remoteAddress() instanceof InetSocketAddress address) {
            clientAddress = address.getAddress().getHostAddress() + ":" + address.getPort();
        }
        context.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext context, Object msg) {
        ByteBuf frame = (ByteBuf) msg;
        ByteBuffer request;
        try {
            request = ByteBuffer.allocate(frame.readableBytes());
            frame.readBytes(request);
            request.flip();
        } finally {
            frame.release();
        }
        queued.add(request);
        if (queued.size() >= MAX_QUEUED_FRAMES) {
            context.channel().config().setAutoRead(false);
        }
        startNext();
    }

    /**
     * Starts the next queued request. Requests already read are handled even after the client closed its side (an
     * acks=0 producer's last batches arrive just before its close), as Kafka does; only their answers are lost.
     */
    private void startNext() {
        if (inFlight || queued.isEmpty() || closing) {
            return;
        }
        ByteBuffer request = queued.poll();
        if (queued.size() < MAX_QUEUED_FRAMES / 2 && !busy) {
            ctx.channel().config().setAutoRead(true);
        }
        inFlight = true;
        CompletableFuture<RequestDispatcher.Outcome> outcome = dispatcher.dispatch(request, clientAddress, listenerName,
                sasl, sslPrincipal);
        outcome.whenComplete((result, error) -> ctx.executor().execute(() -> finish(request, result, error)));
    }

    private void finish(ByteBuffer request, RequestDispatcher.Outcome result, Throwable error) {
        inFlight = false;
        if (error == null && result == RequestDispatcher.Outcome.BUSY) {
            // The node's io queue is full: stop reading this socket and try the same request again shortly.
            busy = true;
            queued.addFirst(request);
            ctx.channel().config().setAutoRead(false);
            ctx.executor().schedule(() -> {
                busy = false;
                startNext();
            }, BUSY_RETRY_MS, java.util.concurrent.TimeUnit.MILLISECONDS);
            return;
        }
        if (error != null || result.closeConnection()) {
            if (error != null) {
                log.warn("Closing connection from {}: request failed", clientAddress, error);
            }
            closing = true;
            ctx.close();
            return;
        }
        if (result.response() != null && ctx.channel().isActive()) {
            ByteBuffer body = result.response();
            ByteBuf out = ctx.alloc().buffer(4 + body.remaining());
            out.writeInt(body.remaining());
            out.writeBytes(body);
            if (result.closeAfterResponse()) {
                closing = true;
                ctx.writeAndFlush(out).addListener(io.netty.channel.ChannelFutureListener.CLOSE);
                return;
            }
            ctx.writeAndFlush(out);
        }
        startNext();
    }

    /**
     * A completed TLS handshake: a client that presented a certificate is known by its subject, as Kafka's default
     * principal builder names it ({@code ssl.principal.mapping.rules=DEFAULT}: the RFC 2253 distinguished name).
     */
    @Override
    public void userEventTriggered(ChannelHandlerContext context, Object event) {
        if (event instanceof SslHandshakeCompletionEvent done && done.isSuccess()) {
            SslHandler tls = context.pipeline().get(SslHandler.class);
            if (tls != null) {
                try {
                    sslPrincipal = tls.engine().getSession().getPeerPrincipal().getName();
                } catch (SSLPeerUnverifiedException noClientCertificate) {
                    sslPrincipal = null;
                }
            }
        }
        context.fireUserEventTriggered(event);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext context, Throwable cause) {
        log.info("Closing connection from {}: {}", clientAddress, cause.toString());
        context.close();
    }
}
