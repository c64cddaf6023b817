package io.tributary.node.handlers;

import org.apache.kafka.common.requests.RequestHeader;

/** What a handler knows of a request besides its body: the header (API version, client id) and the peer. */
public record RequestContext(RequestHeader header, String clientAddress) {

    public short apiVersion() {
        return header.apiVersion();
    }
}
