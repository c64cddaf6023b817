package io.tributary.node.handlers;

import io.tributary.node.network.SaslSession;
import org.apache.kafka.common.requests.RequestHeader;

/**
 * What a handler knows of a request besides its body: the header (API version, client id), the peer, the name of
 * the listener it came in on (answers name brokers by their endpoint on that same listener, as Kafka does), and the
 * connection's SASL exchange on a SASL listener (null elsewhere).
 */
public record RequestContext(RequestHeader header, String clientAddress, String listenerName, SaslSession sasl) {

    /** A request on the default PLAINTEXT listener (tests, tools). */
    public RequestContext(RequestHeader header, String clientAddress) {
        this(header, clientAddress, "PLAINTEXT", null);
    }

    public short apiVersion() {
        return header.apiVersion();
    }
}
