package io.tributary.node.handlers;

import io.tributary.node.network.SaslSession;
import org.apache.kafka.common.requests.RequestHeader;
import org.apache.kafka.common.security.auth.KafkaPrincipal;
import org.apache.kafka.common.utils.SecurityUtils;

/**
 * What a handler knows of a request besides its body: the header (API version, client id), the peer, the name of
 * the listener it came in on (answers name brokers by their endpoint on that same listener, as Kafka does), the
 * connection's SASL exchange on a SASL listener (null elsewhere), the subject of the client's TLS certificate
 * (null without one), and the connection's end (a waiting request stops waiting when its client has gone).
 */
public record RequestContext(RequestHeader header, String clientAddress, String listenerName, SaslSession sasl,
        String sslPrincipal, ConnectionClose connection) {

    /** A request on the default PLAINTEXT listener (tests, tools). */
    public RequestContext(RequestHeader header, String clientAddress) {
        this(header, clientAddress, "PLAINTEXT", null, null, ConnectionClose.never());
    }

    public short apiVersion() {
        return header.apiVersion();
    }

    /**
     * Who sent the request, as Kafka's default principal builder says: the SASL user on a SASL listener, the
     * certificate's subject on a TLS listener that got one, else {@code User:ANONYMOUS}.
     */
    public KafkaPrincipal principal() {
        if (sasl != null && sasl.principal() != null) {
            return SecurityUtils.parseKafkaPrincipal(sasl.principal());
        }
        if (sslPrincipal != null) {
            return new KafkaPrincipal(KafkaPrincipal.USER_TYPE, sslPrincipal);
        }
        return KafkaPrincipal.ANONYMOUS;
    }

    /** The client's IP address, without the port: the host ACLs name. */
    public String clientHost() {
        int colon = clientAddress.lastIndexOf(':');
        return colon < 0 ? clientAddress : clientAddress.substring(0, colon);
    }
}
