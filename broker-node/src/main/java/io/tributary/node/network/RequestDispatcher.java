package io.tributary.node.network;

import io.tributary.node.handlers.ApiHandler;
import io.tributary.node.handlers.ConnectionClose;
import io.tributary.node.handlers.RequestContext;
import io.tributary.node.metrics.RequestMetrics;
import io.tributary.node.handlers.FileSliceRecords;
import io.tributary.storage.FileSlice;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import org.apache.kafka.common.message.ApiMessageType;
import org.apache.kafka.common.message.ApiVersionsResponseData;
import org.apache.kafka.common.message.FetchResponseData;
import org.apache.kafka.common.message.ProduceResponseData;
import org.apache.kafka.common.network.Send;
import org.apache.kafka.common.network.TransferableChannel;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.protocol.SendBuilder;
import org.apache.kafka.common.requests.AbstractRequest;
import org.apache.kafka.common.requests.RequestHeader;
import org.apache.kafka.common.requests.ResponseHeader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decodes a request frame with kafka-clients' message classes, routes it to the {@link ApiHandler} for its API, and
 * encodes the response. Bad input never escapes as an exception: an unknown API or an undecodable request closes
 * the connection; a known API at a version we do not serve gets UNSUPPORTED_VERSION (ApiVersions answers with a
 * version-0 body listing what we do serve, as Kafka does, KIP-511); a handler failure gets UNKNOWN_SERVER_ERROR.
 *
 * <p>Threads: {@link #dispatch} is called on a network thread and decodes the request there; the handler runs on
 * the I/O executor, or on the network thread itself where it says it never blocks
 * ({@link ApiHandler#runsOnNetworkThread}: produce without per-message fsync); handlers may complete later
 * (long-polling fetches, acks=all).
 */
public final class RequestDispatcher {

    private static final Logger log = LoggerFactory.getLogger(RequestDispatcher.class);

    /**
     * What the connection does with a request: its framed response, in order, as {@link ByteBuffer}s and
     * {@link FilePart}s (a fetch's records, sent from the segment file); whether to close instead, or after it.
     */
    public record Outcome(List<Object> response, boolean closeConnection, boolean closeAfterResponse) {
        static final Outcome CLOSE = new Outcome(null, true, false);
        /** The io queue is full: nothing was read from the frame; the connection retries it shortly. */
        static final Outcome BUSY = new Outcome(null, false, false);
        static final Outcome NO_RESPONSE = new Outcome(null, false, false);

        Outcome(List<Object> response, boolean closeConnection) {
            this(response, closeConnection, false);
        }

        /** The response's size on the wire, size prefix included. */
        long responseBytes() {
            long bytes = 0;
            for (Object part : response) {
                bytes += part instanceof FilePart file ? file.count() : ((ByteBuffer) part).remaining();
            }
            return bytes;
        }

        /** Closes the file parts of a response that will not be written. */
        void release() {
            if (response != null) {
                for (Object part : response) {
                    if (part instanceof FilePart file) {
                        file.release().run();
                    }
                }
            }
        }
    }

    /**
     * {@code count} bytes of a segment file from {@code position}, on a read handle its slice holds; {@code release}
     * gives the slice back, once written or dropped.
     */
    public record FilePart(FileChannel channel, long position, long count, Runnable release) {
    }

    private final Map<ApiKeys, ApiHandler> handlers = new EnumMap<>(ApiKeys.class);
    private final ExecutorService ioThreads;
    private final RequestMetrics metrics;

    public RequestDispatcher(Collection<ApiHandler> apiHandlers, ExecutorService ioThreads, RequestMetrics metrics) {
        for (ApiHandler h : apiHandlers) {
            if (handlers.put(h.apiKey(), h) != null) {
                throw new IllegalArgumentException("two handlers for " + h.apiKey());
            }
        }
        this.ioThreads = ioThreads;
        this.metrics = metrics;
    }

    /** The APIs and version ranges this node serves: exactly what ApiVersions advertises. */
    public ApiVersionsResponseData.ApiVersionCollection supportedVersions() {
        ApiVersionsResponseData.ApiVersionCollection versions = new ApiVersionsResponseData.ApiVersionCollection();
        for (ApiHandler h : handlers.values()) {
            versions.add(new ApiVersionsResponseData.ApiVersion()
                    .setApiKey(h.apiKey().id).setMinVersion(h.minVersion()).setMaxVersion(h.maxVersion()));
        }
        return versions;
    }

    CompletableFuture<Outcome> dispatch(ByteBuffer frame, String clientAddress) {
        return dispatch(frame, clientAddress, "PLAINTEXT", null, null, ConnectionClose.never());
    }

    /**
     * Handles one request frame that arrived on the listener named {@code listenerName}; on a SASL listener,
     * {@code sasl} is the connection's exchange, and a request other than ApiVersions, SaslHandshake and
     * SaslAuthenticate before it completes closes the connection, as in Kafka. {@code sslPrincipal} is the subject of
     * the client's TLS certificate, or null.
     */
    CompletableFuture<Outcome> dispatch(ByteBuffer frame, String clientAddress, String listenerName,
            SaslSession sasl, String sslPrincipal, ConnectionClose connection) {
        // Parsed from a duplicate: a request the io queue has no room for is offered again from its first byte.
        Object parsed = parse(frame.duplicate(), clientAddress, listenerName, sasl, sslPrincipal, connection);
        if (parsed instanceof Outcome outcome) {
            return CompletableFuture.completedFuture(outcome);
        }
        Parsed request = (Parsed) parsed;
        if (onNetworkThread(request)) {
            return handle(request);
        }
        try {
            return CompletableFuture.supplyAsync(() -> handle(request), ioThreads).thenCompose(f -> f);
        } catch (RejectedExecutionException e) {
            // queued.max.requests reached: backpressure (the connection stops reading and retries), as Kafka
            // stops reading sockets, rather than a closed connection and a client that resends.
            return CompletableFuture.completedFuture(Outcome.BUSY);
        }
    }

    /** A decoded request and the handler of its API. */
    private record Parsed(ApiHandler handler, RequestContext context, ApiMessage message, ByteBuffer frame) {}

    private static boolean onNetworkThread(Parsed request) {
        try {
            return request.handler().runsOnNetworkThread(request.context(), request.message());
        } catch (RuntimeException e) {
            log.warn("{} could not say where it runs; on the io threads", request.handler().apiKey(), e);
            return false;
        }
    }

    /**
     * Decodes a frame: the {@link Parsed} request, or the {@link Outcome} for a frame that gets no handler (closed
     * connection, UNSUPPORTED_VERSION).
     */
    private Object parse(ByteBuffer frame, String clientAddress, String listenerName, SaslSession sasl,
            String sslPrincipal, ConnectionClose connection) {
        if (frame.remaining() < 8) {
            return Outcome.CLOSE;
        }
        short apiKeyId = frame.getShort(0);
        short version = frame.getShort(2);
        if (!ApiKeys.hasId(apiKeyId)) {
            log.info("Closing connection from {}: unknown API key {}", clientAddress, apiKeyId);
            return Outcome.CLOSE;
        }
        ApiKeys apiKey = ApiKeys.forId(apiKeyId);
        if (sasl != null && !sasl.allows(apiKey)) {
            log.info("Closing connection from {}: {} before SASL authentication completed (or after it failed)",
                    clientAddress, apiKey);
            return Outcome.CLOSE;
        }
        ApiHandler handler = handlers.get(apiKey);
        if (handler == null) {
            log.info("Closing connection from {}: API {} is not served", clientAddress, apiKey);
            return Outcome.CLOSE;
        }
        if (version < handler.minVersion() || version > handler.maxVersion()) {
            return unsupportedVersion(apiKey, version, frame, clientAddress);
        }
        RequestHeader header;
        ApiMessage request;
        try {
            header = RequestHeader.parse(frame);
            request = ApiMessageType.fromApiKey(apiKeyId).newRequest();
            request.read(new ByteBufferAccessor(frame), version);
        } catch (RuntimeException e) {
            log.info("Closing connection from {}: malformed {} v{} request: {}", clientAddress, apiKey, version,
                    e.toString());
            return Outcome.CLOSE;
        }
        RequestContext context = new RequestContext(header, clientAddress, listenerName, sasl, sslPrincipal,
                connection);
        return new Parsed(handler, context, request, frame);
    }

    private CompletableFuture<Outcome> handle(Parsed parsed) {
        ApiKeys apiKey = parsed.handler().apiKey();
        RequestHeader header = parsed.context().header();
        SaslSession sasl = parsed.context().sasl();
        long startNs = System.nanoTime();
        CompletableFuture<ApiMessage> response;
        try {
            response = parsed.handler().handle(parsed.context(), parsed.message());
        } catch (RuntimeException e) {
            response = CompletableFuture.failedFuture(e);
        }
        return response.handle((message, error) -> {
            metrics.requestHandled(apiKey, System.nanoTime() - startNs);
            if (error != null) {
                metrics.requestFailed(apiKey, Errors.UNKNOWN_SERVER_ERROR);
                log.error("{} v{} from {} failed; answering UNKNOWN_SERVER_ERROR", apiKey, header.apiVersion(),
                        parsed.context().clientAddress(), error);
                return errorResponse(header, parsed.frame(), Errors.UNKNOWN_SERVER_ERROR);
            }
            countErrors(apiKey, message);
            // A failed SASL authentication is answered (the client learns why), then the connection is closed.
            boolean failedLogin = sasl != null && sasl.failed();
            if (message == null) {
                return Outcome.NO_RESPONSE;
            }
            try {
                return new Outcome(encode(header, message), false, failedLogin);
            } catch (RuntimeException e) {
                releaseFiles(message);
                throw e;
            }
        });
    }

    /** Counts the error codes of a produce or fetch response: its top-level one and each partition's. */
    private void countErrors(ApiKeys apiKey, ApiMessage message) {
        if (message instanceof ProduceResponseData produce) {
            for (ProduceResponseData.TopicProduceResponse topic : produce.responses()) {
                for (ProduceResponseData.PartitionProduceResponse p : topic.partitionResponses()) {
                    countError(apiKey, p.errorCode());
                }
            }
        } else if (message instanceof FetchResponseData fetch) {
            countError(apiKey, fetch.errorCode());
            for (FetchResponseData.FetchableTopicResponse topic : fetch.responses()) {
                for (FetchResponseData.PartitionData p : topic.partitions()) {
                    countError(apiKey, p.errorCode());
                }
            }
        }
    }

    private void countError(ApiKeys apiKey, short code) {
        if (code != Errors.NONE.code()) {
            metrics.requestFailed(apiKey, Errors.forCode(code));
        }
    }

    private Outcome unsupportedVersion(ApiKeys apiKey, short version, ByteBuffer frame, String clientAddress) {
        int correlationId = frame.remaining() >= 8 ? frame.getInt(4) : 0;
        if (apiKey == ApiKeys.API_VERSIONS) {
            // KIP-511: answer with a v0 body (v0 response header) so that any client can read the versions we serve.
            ApiVersionsResponseData body = new ApiVersionsResponseData()
                    .setErrorCode(Errors.UNSUPPORTED_VERSION.code())
                    .setApiKeys(supportedVersions());
            return new Outcome(frame(new ResponseHeader(correlationId, (short) 0), body, (short) 0), false);
        }
        if (!apiKey.isVersionSupported(version)) {
            log.info("Closing connection from {}: {} v{} is unknown to this node", clientAddress, apiKey, version);
            return Outcome.CLOSE;
        }
        try {
            RequestHeader header = RequestHeader.parse(frame);
            return errorResponse(header, frame, Errors.UNSUPPORTED_VERSION);
        } catch (RuntimeException e) {
            return Outcome.CLOSE;
        }
    }

    /** An error response built by kafka-clients' own request class for this API and version. */
    private Outcome errorResponse(RequestHeader header, ByteBuffer frame, Errors error) {
        try {
            ByteBuffer body = frame.duplicate();
            body.position(0);
            RequestHeader.parse(body);
            AbstractRequest request = AbstractRequest.parseRequest(header.apiKey(), header.apiVersion(),
                    new ByteBufferAccessor(body)).request;
            ApiMessage response = request.getErrorResponse(0, error.exception()).data();
            return new Outcome(encode(header, response), false);
        } catch (RuntimeException e) {
            return Outcome.CLOSE;
        }
    }

    /** Releases the segment-file slices a fetch response holds (it will not be framed). */
    private void releaseFiles(ApiMessage message) {
        if (message instanceof FetchResponseData fetch) {
            for (FetchResponseData.FetchableTopicResponse topic : fetch.responses()) {
                for (FetchResponseData.PartitionData p : topic.partitions()) {
                    FileSliceRecords.release(p.records());
                }
            }
        }
    }

    private List<Object> encode(RequestHeader header, ApiMessage response) {
        short version = header.apiVersion();
        return frame(new ResponseHeader(header.correlationId(), header.apiKey().responseHeaderVersion(version)),
                response, version);
    }

    /**
     * The framed response, built by kafka-clients' SendBuilder: the fields are written into one buffer, and record
     * sets (a fetch's batches) are referenced, not copied: in memory as buffers, in segment files as file parts.
     */
    private List<Object> frame(ResponseHeader header, ApiMessage response, short version) {
        Send send = SendBuilder.buildResponseSend(header, response, version);
        Parts parts = new Parts();
        try {
            while (!send.completed()) {
                send.writeTo(parts);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e); // Parts never throws
        }
        return parts.parts;
    }

    /**
     * A channel that keeps what is written to it as slices of the written buffers, and segment-file slices as file
     * parts: nothing is copied.
     */
    private static final class Parts implements TransferableChannel, FileSliceRecords.Sink {
        private final List<Object> parts = new ArrayList<>();

        @Override
        public long write(ByteBuffer[] sources, int offset, int length) {
            long written = 0;
            for (int i = offset; i < offset + length; i++) {
                written += write(sources[i]);
            }
            return written;
        }

        @Override
        public long write(ByteBuffer[] sources) {
            return write(sources, 0, sources.length);
        }

        @Override
        public int write(ByteBuffer source) {
            int n = source.remaining();
            if (n > 0) {
                parts.add(source.slice());
                source.position(source.limit());
            }
            return n;
        }

        @Override
        public boolean hasPendingWrites() {
            return false;
        }

        @Override
        public void add(FileSlice slice, long offset, long count) {
            parts.add(new FilePart(slice.channel(), slice.position() + offset, count, slice::release));
        }

        /** Responses hold no file records but slices ({@link #add}). */
        @Override
        public long transferFrom(FileChannel file, long position, long count) {
            throw new UnsupportedOperationException("file records other than segment-file slices");
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void close() {
        }
    }
}
