package io.tributary.replication;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.UnsafeByteOperations;
import io.grpc.HasByteBuffer;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.protobuf.ProtoUtils;
import io.tributary.proto.replication.ReplicaFetchResponse;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;

/**
 * How a follower reads its leader's fetch answers: into a direct buffer that each thread reuses, parsed with
 * aliasing, so the records of an answer are a view of that buffer. gRPC's own marshaller copies every answer twice
 * (into a byte array, then each partition's records into a {@code ByteString} of their own: up to
 * {@code replica.fetch.max.bytes}, a humongous object in a small G1 heap) and the append copies them a third time
 * (a heap buffer is written to a file through a temporary direct buffer). Here the answer is copied once, from
 * gRPC's network buffers into the thread's buffer, and its CRC check and file write read that buffer directly.
 *
 * <p>A parsed answer is valid only until the same thread parses the next one. gRPC parses a message and hands it to
 * the call's listener in one go on one thread ({@code ReplicaFetcher} appends the records inside its
 * {@code onNext}, and keeps nothing of the answer), so an answer is never overwritten while it is being applied.
 * Answers larger than {@code reuseUpTo} bytes (a leader answering past the requested size) are parsed by gRPC's
 * marshaller, into memory of their own.
 */
final class FetchAnswerMarshaller implements MethodDescriptor.Marshaller<ReplicaFetchResponse> {
    /** The largest reuse bound: an answer beyond it is parsed into memory of its own, whatever the config. */
    static final int MAX_REUSED_BYTES = 16 << 20;
    private static final int MIN_BUFFER = 64 * 1024;
    private static final int COPY_CHUNK = 8 * 1024;

    private final MethodDescriptor.Marshaller<ReplicaFetchResponse> plain =
            ProtoUtils.marshaller(ReplicaFetchResponse.getDefaultInstance());
    private final int reuseUpTo;
    /**
     * One buffer per thread that parses answers (the fetcher event loops: a bounded set), shared by every fetcher
     * that thread serves; each at most the largest {@code reuseUpTo} in use.
     */
    private static final ThreadLocal<ByteBuffer> BUFFERS = new ThreadLocal<>();

    FetchAnswerMarshaller(int reuseUpTo) {
        if (reuseUpTo < 1 || reuseUpTo > MAX_REUSED_BYTES) {
            throw new IllegalArgumentException("reuseUpTo must be in [1, " + MAX_REUSED_BYTES + "], got "
                    + reuseUpTo);
        }
        this.reuseUpTo = reuseUpTo;
    }

    /** The fetch method of the replication service with this marshaller for its answers. */
    static MethodDescriptor<io.tributary.proto.replication.ReplicaFetchRequest, ReplicaFetchResponse> fetchMethod(
            int reuseUpTo) {
        return io.tributary.proto.replication.ReplicationServiceGrpc.getFetchMethod().toBuilder(
                ProtoUtils.marshaller(io.tributary.proto.replication.ReplicaFetchRequest.getDefaultInstance()),
                new FetchAnswerMarshaller(reuseUpTo)).build();
    }

    @Override
    public InputStream stream(ReplicaFetchResponse value) {
        return plain.stream(value);
    }

    @Override
    public ReplicaFetchResponse parse(InputStream stream) {
        try {
            int size = stream instanceof KnownLength ? stream.available() : -1;
            if (size <= 0 || size > reuseUpTo) {
                return plain.parse(stream);
            }
            ByteBuffer buffer = buffer(size);
            copy(stream, buffer);
            buffer.flip();
            // (a coded input over a wrapped buffer treats it as immutable, which aliasing needs)
            CodedInputStream in = UnsafeByteOperations.unsafeWrap(buffer).newCodedInput();
            in.enableAliasing(true);
            in.setSizeLimit(Integer.MAX_VALUE);
            return ReplicaFetchResponse.parser().parseFrom(in);
        } catch (IOException e) {
            throw Status.INTERNAL.withDescription("Invalid fetch answer").withCause(e).asRuntimeException();
        }
    }

    /** This thread's buffer, cleared, with room for {@code size} bytes and its limit at {@code size}. */
    private ByteBuffer buffer(int size) {
        ByteBuffer buffer = BUFFERS.get();
        if (buffer == null || buffer.capacity() < size) {
            int capacity = Math.max(MIN_BUFFER, Integer.highestOneBit(size - 1) << 1);
            buffer = ByteBuffer.allocateDirect(Math.min(capacity, Math.max(reuseUpTo, size)));
            BUFFERS.set(buffer);
        }
        return buffer.clear().limit(size);
    }

    /** Fills {@code dst} from {@code stream}: straight from its network buffers when it exposes them. */
    private static void copy(InputStream stream, ByteBuffer dst) throws IOException {
        if (stream instanceof HasByteBuffer views && views.byteBufferSupported()) {
            while (dst.hasRemaining()) {
                ByteBuffer src = views.getByteBuffer();
                if (src == null || !src.hasRemaining()) {
                    break; // this part is not exposed as a buffer: read the rest below
                }
                int n = Math.min(src.remaining(), dst.remaining());
                dst.put(src.limit(src.position() + n));
                skipFully(stream, n);
            }
        }
        byte[] chunk = null;
        while (dst.hasRemaining()) {
            if (chunk == null) {
                chunk = new byte[Math.min(COPY_CHUNK, dst.remaining())];
            }
            int n = stream.read(chunk, 0, Math.min(chunk.length, dst.remaining()));
            if (n < 0) {
                throw new EOFException("fetch answer ended " + dst.remaining() + " bytes early");
            }
            dst.put(chunk, 0, n);
        }
    }

    private static void skipFully(InputStream stream, long n) throws IOException {
        long left = n;
        while (left > 0) {
            long skipped = stream.skip(left);
            if (skipped <= 0) {
                throw new EOFException("fetch answer ended " + left + " bytes early");
            }
            left -= skipped;
        }
    }
}
