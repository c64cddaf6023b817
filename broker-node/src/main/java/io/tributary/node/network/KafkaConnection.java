package io.tributary.node.network;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.tributary.node.handlers.ConnectionClose;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLPeerUnverifiedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection: Kafka's framing (a 4-byte big-endian size, then that many bytes) and the connection's
 * requests. Requests of a connection are handled strictly one at a time, in arrival order, as Kafka does: the next
 * request starts only when the previous one's response is written (or, for acks=0 produce, when it has been
 * handled). This keeps idempotent produce batches of one producer in order.
 *
 * <p>Memory: the size prefix is checked before any of the frame is buffered ({@code socket.request.max.bytes}; on a
 * SASL listener 512 KiB until the client has authenticated, Kafka's {@code sasl.server.max.receive.size}), then the
 * frame's size is reserved in the node's {@link RequestMemoryPool} and held until the request has been handled; its
 * response holds its size until written to the socket. At most {@link #MAX_QUEUED_FRAMES} frames and
 * {@link #MAX_QUEUED_BYTES} bytes (or one frame of any allowed size) wait per connection. The next request does not
 * start while the socket's outbound buffer is above its high-water mark (a client that does not read its answers
 * stops being served, instead of making the node buffer them).
 *
 * <p>States: reading unless one of these holds, each of which only pauses reading (the socket stays open):
 * the connection's queue is full; the pool has no room for the next frame (woken when memory is given back); the
 * node's io queue is full (the request waiting for room is offered again every {@link #BUSY_RETRY_MS} ms). Closing
 * on a framing error, an undecodable request, or when the dispatcher asks to close. Requests read before the
 * client closed its side are still handled. All fields are touched only on the connection's event loop.
 */
final class KafkaConnection extends ByteToMessageDecoder {

    private static final Logger log = LoggerFactory.getLogger(KafkaConnection.class);
    static final int MAX_QUEUED_FRAMES = 16;
    /** Queued bytes above which no further frame is read while another waits (one frame may always wait). */
    static final int MAX_QUEUED_BYTES = 8 * 1024 * 1024;
    /** The largest frame read before SASL authentication (Kafka's default). */
    static final int MAX_UNAUTHENTICATED_FRAME_BYTES = 512 * 1024;
    /** How long a connection waits before it offers a request again to a full io queue. */
    private static final long BUSY_RETRY_MS = 5;

    private record Queued(ByteBuffer request, RequestMemoryPool.Reservation memory) {}

    private final RequestDispatcher dispatcher;
    private final String listenerName;
    private final int maxFrameBytes;
    private final RequestMemoryPool pool;
    /** This connection's SASL exchange on a SASL listener; null elsewhere. */
    private final SaslSession sasl;
    private final ArrayDeque<Queued> queued = new ArrayDeque<>();
    private long queuedBytes;
    /** The reservation for the frame being read, taken when its size prefix arrived; null between frames. */
    private RequestMemoryPool.Reservation reading;
    /** The body of the frame being read (its reserved size); null between frames. */
    private ByteBuffer body;
    private boolean inFlight;
    private ChannelHandlerContext ctx;
    private String clientAddress = "unknown";
    /** The node closes this connection: no further request is started. */
    private boolean closing;
    /** A request waits for room in the io queue: reading stays off until it is taken. */
    private boolean busy;
    /** The pool refused the next frame's reservation: reading stays off until the pool wakes this connection. */
    private boolean waitingForMemory;
    /** The next frame does not fit the connection's queue: reading stays off until a queued request starts. */
    private boolean queueFull;
    /** A resume is scheduled on the event loop. */
    private boolean resumeScheduled;
    /** This connection's end, as its request in flight sees it. */
    private final ConnectionClose connection = new ConnectionClose();
    /** The client certificate's subject once a TLS handshake with client authentication completed, else null. */
    private String sslPrincipal;

    KafkaConnection(RequestDispatcher dispatcher, String listenerName, SaslSession sasl, int maxFrameBytes,
            RequestMemoryPool pool) {
        this.dispatcher = dispatcher;
        this.listenerName = listenerName;
        this.sasl = sasl;
        this.maxFrameBytes = maxFrameBytes;
        this.pool = pool;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext context) {
        this.ctx = context;
    }

    @Override
    public void channelActive(ChannelHandlerContext context) throws Exception {
        if (context.channel().remoteAddress() instanceof InetSocketAddress address) {
            clientAddress = address.getAddress().getHostAddress() + ":" + address.getPort();
        }
        super.channelActive(context);
    }

    /**
     * Reads a frame: its size prefix, then (once its memory is reserved) its body, straight into a buffer of its
     * size, as Kafka's NetworkReceive does; a whole frame joins the queue.
     */
    @Override
    protected void decode(ChannelHandlerContext context, ByteBuf in, List<Object> out) {
        if (closing || waitingForMemory) {
            return; // waiting: registered with the pool once, until it wakes this connection
        }
        if (body == null) {
            if (in.readableBytes() < 4) {
                return;
            }
            int size = in.getInt(in.readerIndex());
            if (size < 0 || size > maxFrameBytes) {
                refuseFrame(in, "a frame of " + size + " bytes (socket.request.max.bytes is " + maxFrameBytes + ")");
                return;
            }
            if (sasl != null && size > MAX_UNAUTHENTICATED_FRAME_BYTES && !sasl.authenticated()) {
                refuseFrame(in, "a " + size + "-byte frame before SASL authentication (at most "
                        + MAX_UNAUTHENTICATED_FRAME_BYTES + ")");
                return;
            }
            if (queued.size() >= MAX_QUEUED_FRAMES || (!queued.isEmpty() && queuedBytes + size > MAX_QUEUED_BYTES)) {
                queueFull = true; // read on when a queued request starts
                updateReading();
                return;
            }
            reading = pool.tryReserve(size, this::wake);
            if (reading == null) {
                waitingForMemory = true;
                updateReading();
                return;
            }
            in.skipBytes(4);
            body = ByteBuffer.allocate(size);
        }
        int n = Math.min(in.readableBytes(), body.remaining());
        ByteBuffer target = body.duplicate();
        target.limit(body.position() + n);
        in.readBytes(target);
        body.position(body.position() + n);
        if (body.hasRemaining()) {
            return;
        }
        body.flip();
        queued.add(new Queued(body, reading));
        queuedBytes += reading.bytes();
        body = null;
        reading = null;
        updateReading();
        startNext();
    }

    /**
     * Unlike ByteToMessageDecoder's own, never asks for another read while reading is off (it does when a read
     * decoded nothing, for handlers that read by hand): a paused connection must stay paused.
     */
    @Override
    public void channelReadComplete(ChannelHandlerContext context) {
        discardSomeReadBytes();
        context.fireChannelReadComplete();
    }

    private void refuseFrame(ByteBuf in, String what) {
        log.info("Closing connection from {}: {}", clientAddress, what);
        in.skipBytes(in.readableBytes());
        close();
    }

    /** Called by the pool on a releasing thread: try the next frame again on this connection's event loop. */
    private void wake() {
        try {
            ctx.executor().execute(() -> {
                waitingForMemory = false;
                resume();
            });
        } catch (java.util.concurrent.RejectedExecutionException listenerClosed) {
            // the event loop is shutting down with the listener: nothing to wake
        }
    }

    /** Reading on or off: off while the queue is full, memory is short or the io queue is full. */
    private void updateReading() {
        boolean read = !closing && !busy && !waitingForMemory && !queueFull;
        if (ctx.channel().config().isAutoRead() != read) {
            ctx.channel().config().setAutoRead(read);
        }
    }

    /**
     * Decodes again from the bytes already buffered (a paused connection may hold whole frames no new read will
     * bring up), later on the event loop, never from inside {@link #decode}.
     */
    private void resume() {
        updateReading();
        if (resumeScheduled || closing) {
            return;
        }
        resumeScheduled = true;
        ctx.executor().execute(() -> {
            resumeScheduled = false;
            if (!closing && !ctx.isRemoved()) {
                try {
                    channelRead(ctx, Unpooled.EMPTY_BUFFER);
                } catch (Exception e) {
                    exceptionCaught(ctx, e);
                }
            }
        });
    }

    /**
     * Starts the next queued request. Requests already read are handled even after the client closed its side (an
     * acks=0 producer's last batches arrive just before its close), as Kafka does; only their answers are lost.
     */
    private void startNext() {
        if (inFlight || queued.isEmpty() || closing) {
            return;
        }
        if (ctx.channel().isActive() && !ctx.channel().isWritable()) {
            return; // channelWritabilityChanged starts it once the client has read its answers
        }
        Queued next = queued.poll();
        queuedBytes -= next.memory().bytes();
        queueFull = false;
        resume();
        inFlight = true;
        CompletableFuture<RequestDispatcher.Outcome> outcome = dispatcher.dispatch(next.request(), clientAddress,
                listenerName, sasl, sslPrincipal, connection);
        outcome.whenComplete((result, error) -> ctx.executor().execute(() -> finish(next, result, error)));
    }

    private void finish(Queued request, RequestDispatcher.Outcome result, Throwable error) {
        inFlight = false;
        connection.clear();
        if (error == null && result == RequestDispatcher.Outcome.BUSY) {
            // The node's io queue is full: stop reading this socket and try the same request again shortly.
            busy = true;
            queued.addFirst(request);
            queuedBytes += request.memory().bytes();
            updateReading();
            ctx.executor().schedule(() -> {
                busy = false;
                updateReading();
                startNext();
            }, BUSY_RETRY_MS, TimeUnit.MILLISECONDS);
            return;
        }
        pool.release(request.memory());
        if (error != null || result.closeConnection()) {
            if (error != null) {
                log.warn("Closing connection from {}: request failed", clientAddress, error);
            } else {
                result.release();
            }
            close();
            return;
        }
        if (result.response() != null && !ctx.channel().isActive()) {
            result.release();
        } else if (result.response() != null) {
            RequestMemoryPool.Reservation memory = pool.forceReserve(result.responseBytes());
            io.netty.channel.ChannelFuture written;
            try {
                written = write(result.response());
            } catch (IOException e) {
                pool.release(memory);
                log.warn("Closing connection from {}: cannot read a fetch's records from its segment file: {}",
                        clientAddress, e.toString());
                close();
                return;
            }
            written.addListener(f -> pool.release(memory));
            if (result.closeAfterResponse()) {
                closing = true;
                written.addListener(io.netty.channel.ChannelFutureListener.CLOSE);
                return;
            }
        }
        startNext();
    }

    /**
     * Writes a framed response in order and flushes it: buffers wrapped (no copy), segment-file parts as file regions
     * (sendfile; released once written or failed) or, under TLS, which encrypts in user space, read into a buffer.
     * Every file part is released whatever happens. Returns the last write's future.
     */
    private io.netty.channel.ChannelFuture write(List<Object> parts) throws IOException {
        boolean tls = ctx.pipeline().get(SslHandler.class) != null;
        List<ByteBuffer> buffers = new ArrayList<>();
        for (int i = 0; i < parts.size(); i++) {
            Object part = parts.get(i);
            if (part instanceof ByteBuffer buffer) {
                buffers.add(buffer);
                continue;
            }
            RequestDispatcher.FilePart file = (RequestDispatcher.FilePart) part;
            if (!buffers.isEmpty()) {
                ctx.write(Unpooled.wrappedBuffer(buffers.toArray(ByteBuffer[]::new)));
                buffers.clear();
            }
            if (!tls) {
                ctx.write(new SliceRegion(file));
                continue;
            }
            ByteBuf copy = Unpooled.buffer((int) file.count());
            try {
                long at = file.position();
                while (copy.isWritable()) {
                    int n = copy.writeBytes(file.channel(), at, copy.writableBytes());
                    if (n < 0) {
                        throw new java.io.EOFException("segment file ended at " + at);
                    }
                    at += n;
                }
            } catch (IOException e) {
                copy.release();
                for (Object rest : parts.subList(i, parts.size())) {
                    if (rest instanceof RequestDispatcher.FilePart f) {
                        f.release().run();
                    }
                }
                throw e;
            } finally {
                file.release().run();
            }
            ctx.write(copy);
        }
        return ctx.writeAndFlush(buffers.isEmpty() ? Unpooled.EMPTY_BUFFER
                : Unpooled.wrappedBuffer(buffers.toArray(ByteBuffer[]::new)));
    }

    /** A file part sent with sendfile; released (not closed: the handle may be shared) when Netty is done with it. */
    private static final class SliceRegion extends io.netty.channel.DefaultFileRegion {
        private final RequestDispatcher.FilePart part;

        SliceRegion(RequestDispatcher.FilePart part) {
            super(part.channel(), part.position(), part.count());
            this.part = part;
        }

        @Override
        protected void deallocate() {
            part.release().run();
        }
    }

    /** The node closes the connection: queued requests are dropped and their memory given back. */
    private void close() {
        closing = true;
        releaseQueued();
        ctx.close();
    }

    private void releaseQueued() {
        for (Queued q : queued) {
            pool.release(q.memory());
        }
        queued.clear();
        queuedBytes = 0;
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext context) throws Exception {
        if (context.channel().isWritable()) {
            startNext();
        }
        super.channelWritabilityChanged(context);
    }

    @Override
    public void channelInactive(ChannelHandlerContext context) throws Exception {
        super.channelInactive(context);
        connection.close(); // a long poll in flight answers now (into the void) instead of at max.wait.ms
        // A frame cut short by the close will never complete; queued ones are still handled (see startNext).
        if (reading != null) {
            pool.release(reading);
            reading = null;
            body = null;
        }
        if (closing) {
            releaseQueued();
        } else {
            startNext();
        }
    }

    /**
     * A completed TLS handshake: a client that presented a certificate is known by its subject, as Kafka's default
     * principal builder names it ({@code ssl.principal.mapping.rules=DEFAULT}: the RFC 2253 distinguished name).
     */
    @Override
    public void userEventTriggered(ChannelHandlerContext context, Object event) throws Exception {
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
        super.userEventTriggered(context, event);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext context, Throwable cause) {
        log.info("Closing connection from {}: {}", clientAddress, cause.toString());
        close();
    }
}
