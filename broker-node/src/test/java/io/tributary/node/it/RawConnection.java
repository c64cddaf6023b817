package io.tributary.node.it;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * A plain TCP connection to a node's Kafka port that writes hand-made, often deliberately broken, frames. Used
 * only to attack the listener; well-formed traffic goes through kafka-clients.
 *
 * <p>Kafka framing: every request is a 4-byte big-endian size followed by that many bytes: the request header
 * (api key int16, api version int16, correlation id int32, client id as int16-length string, then, in header v2,
 * an unsigned-varint count of tagged fields) and the body. Responses are a 4-byte size, the correlation id and,
 * except for ApiVersions, a header tagged-field count in flexible versions.
 */
final class RawConnection implements AutoCloseable {
    private static final int CONNECT_TIMEOUT_MS = 5_000;

    private final Socket socket;

    RawConnection(int port) throws IOException {
        socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", port), CONNECT_TIMEOUT_MS);
        socket.setTcpNoDelay(true);
    }

    /** Writes raw bytes; a broker that already closed the connection makes this throw, which callers may ignore. */
    void write(byte[] bytes) throws IOException {
        socket.getOutputStream().write(bytes);
        socket.getOutputStream().flush();
    }

    /** Writes bytes, ignoring a connection the broker has already closed or reset. */
    void writeIgnoringClose(byte[] bytes) {
        try {
            write(bytes);
        } catch (IOException closedByBroker) {
            // The broker may close as soon as it has seen enough to reject the frame: that is allowed.
        }
    }

    /**
     * True if the broker closes (EOF or reset) within {@code deadline}; any bytes it sends first are skipped.
     * False if the connection is still open at the deadline.
     */
    boolean closedByBrokerWithin(Duration deadline) throws IOException {
        long deadlineNs = System.nanoTime() + deadline.toNanos();
        InputStream in = socket.getInputStream();
        byte[] discard = new byte[4096];
        while (true) {
            long remainingMs = (deadlineNs - System.nanoTime()) / 1_000_000;
            if (remainingMs <= 0) {
                return false;
            }
            socket.setSoTimeout((int) Math.max(1, remainingMs));
            try {
                if (in.read(discard) < 0) {
                    return true;
                }
            } catch (SocketTimeoutException stillOpen) {
                return false;
            } catch (SocketException reset) {
                return true;
            }
        }
    }

    /** Reads one response frame (size prefix stripped) within {@code deadline}. */
    ByteBuffer readFrame(Duration deadline) throws IOException {
        socket.setSoTimeout((int) deadline.toMillis());
        DataInputStream in = new DataInputStream(socket.getInputStream());
        int size = in.readInt();
        if (size < 0 || size > 1 << 20) {
            throw new IOException("implausible response size " + size);
        }
        byte[] frame = new byte[size];
        in.readFully(frame);
        return ByteBuffer.wrap(frame);
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // Closing a socket the broker reset: nothing to do.
        }
    }

    /** A 4-byte size prefix claiming {@code size} bytes, followed by {@code payload} (which may be shorter). */
    static byte[] sizePrefixed(int size, byte[] payload) {
        return ByteBuffer.allocate(4 + payload.length).putInt(size).put(payload).array();
    }

    /** A complete frame: correct size prefix, request header v1 or v2, then {@code body}. */
    static byte[] request(int apiKey, int apiVersion, int correlationId, boolean headerV2, byte[] body) {
        ByteArrayOutputStream header = new ByteArrayOutputStream();
        byte[] clientId = "tributary-it".getBytes(StandardCharsets.UTF_8);
        ByteBuffer fixed = ByteBuffer.allocate(2 + 2 + 4 + 2 + clientId.length)
                .putShort((short) apiKey)
                .putShort((short) apiVersion)
                .putInt(correlationId)
                .putShort((short) clientId.length)
                .put(clientId);
        header.writeBytes(fixed.array());
        if (headerV2) {
            header.write(0); // no tagged fields
        }
        header.writeBytes(body);
        byte[] payload = header.toByteArray();
        return sizePrefixed(payload.length, payload);
    }

    /** An ApiVersionsRequest v3+ body: client software name and version as compact strings, no tagged fields. */
    static byte[] apiVersionsV3Body() {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (String field : new String[] {"tributary-it", "0.1"}) {
            byte[] bytes = field.getBytes(StandardCharsets.UTF_8);
            body.write(bytes.length + 1); // compact string: unsigned varint length + 1 (fits in one byte here)
            body.writeBytes(bytes);
        }
        body.write(0); // no tagged fields
        return body.toByteArray();
    }

    static int readInt(ByteBuffer frame) throws EOFException {
        if (frame.remaining() < 4) {
            throw new EOFException("response ends early");
        }
        return frame.getInt();
    }

    static short readShort(ByteBuffer frame) throws EOFException {
        if (frame.remaining() < 2) {
            throw new EOFException("response ends early");
        }
        return frame.getShort();
    }
}
