package io.tributary.metadata;

import java.util.List;

/**
 * A broker as registered in the metadata. Immutable.
 *
 * @param incarnationId new for every process start, so that a restarted broker is told apart from a stale one
 * @param brokerEpoch the metadata offset of the registration record
 * @param fenced a fenced broker leads nothing and is in no ISR; it is not listed to clients
 */
public record BrokerRegistration(
        int brokerId, String incarnationId, long brokerEpoch, List<BrokerEndpoint> endpoints, String rack,
        boolean fenced) {

    public BrokerRegistration {
        endpoints = List.copyOf(endpoints);
    }

    public BrokerRegistration withFenced(boolean nowFenced) {
        return new BrokerRegistration(brokerId, incarnationId, brokerEpoch, endpoints, rack, nowFenced);
    }

    /**
     * The endpoint of the listener named {@code listenerName}, as a client that came in on a listener of that name
     * must be told (Kafka answers with the same listener); empty if the broker has none of that name.
     */
    public java.util.Optional<BrokerEndpoint> endpoint(String listenerName) {
        return endpoints.stream().filter(e -> e.name().equals(listenerName)).findFirst();
    }

    /** A listener of a broker: its name (for example PLAINTEXT) and where it accepts connections. */
    public record BrokerEndpoint(String name, String host, int port) {}
}
