package io.tributary.node;

import java.io.DataInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import org.apache.kafka.common.message.ApiMessageType;
import org.apache.kafka.common.message.RequestHeaderData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.requests.RequestUtils;
import org.apache.kafka.common.requests.ResponseHeader;

/**
 * A blocking Kafka protocol client for tests that need exact control of a request: encodes kafka-clients request
 * data classes at a chosen version and decodes the response with kafka-clients' own parser.
 */
final class WireClient implements AutoCloseable {

    private final Socket socket;
    private int correlationId;

    WireClient(int port) throws IOException {
        socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        socket.setSoTimeout(30_000);
    }

    /** Sends one request and returns its response; acks=0 produce callers use {@link #sendOnly}. */
    ApiMessage send(ApiKeys api, short version, ApiMessage request) throws IOException {
        int id = sendOnly(api, version, request);
        DataInputStream in = new DataInputStream(socket.getInputStream());
        byte[] frame = new byte[in.readInt()];
        in.readFully(frame);
        ByteBuffer buffer = ByteBuffer.wrap(frame);
        ResponseHeader header = ResponseHeader.parse(buffer, api.responseHeaderVersion(version));
        if (header.correlationId() != id) {
            throw new IOException("correlation id " + header.correlationId() + ", expected " + id);
        }
        ApiMessage response = ApiMessageType.fromApiKey(api.id).newResponse();
        response.read(new ByteBufferAccessor(buffer), version);
        return response;
    }

    int sendOnly(ApiKeys api, short version, ApiMessage request) throws IOException {
        int id = ++correlationId;
        RequestHeaderData header = new RequestHeaderData()
                .setRequestApiKey(api.id)
                .setRequestApiVersion(version)
                .setCorrelationId(id)
                .setClientId("wire-test");
        ByteBuffer body = RequestUtils.serialize(header, api.requestHeaderVersion(version), request, version);
        ByteBuffer frame = ByteBuffer.allocate(4 + body.remaining()).putInt(body.remaining()).put(body);
        socket.getOutputStream().write(frame.array());
        socket.getOutputStream().flush();
        return id;
    }

    /** True once the node has closed this connection (EOF or reset). */
    boolean isClosedByPeer() {
        try {
            return socket.getInputStream().read() < 0;
        } catch (IOException e) {
            return true;
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
