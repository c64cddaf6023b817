package io.tributary.node;

import static io.tributary.node.TestNodeConfigs.config;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** Kafka's listener settings: several named listeners, their security protocols, advertised addresses, ssl.* keys. */
class NodeConfigListenersTest {

    @Test
    void severalListenersEachWithTheProtocolItsNameMapsTo() {
        NodeConfig c = config(Map.of(
                "listeners", "PLAINTEXT://127.0.0.1:9092,SSL://0.0.0.0:9093,internal://127.0.0.1:9094",
                "advertised.listeners", "SSL://broker1.example.com:9093",
                "listener.security.protocol.map", "INTERNAL:PLAINTEXT",
                "ssl.keystore.location", "/etc/tributary/broker1.p12",
                "ssl.keystore.password", "secret"));

        assertThat(c.listeners()).extracting(NodeConfig.Listener::name).containsExactly("PLAINTEXT", "SSL",
                "INTERNAL");
        assertThat(c.listeners()).extracting(NodeConfig.Listener::protocol).containsExactly("PLAINTEXT", "SSL",
                "PLAINTEXT");
        // advertised per name; a listener not named in advertised.listeners is advertised where it binds
        assertThat(c.advertisedListeners()).extracting(NodeConfig.Listener::toString).containsExactly(
                "PLAINTEXT://127.0.0.1:9092", "SSL://broker1.example.com:9093", "INTERNAL://127.0.0.1:9094");
        assertThat(c.listeners()).extracting(NodeConfig.Listener::tls).containsExactly(false, true, false);
        assertThat(c.ssl()).containsEntry("ssl.keystore.location", "/etc/tributary/broker1.p12");
        // DescribeConfigs never shows a password
        assertThat(c.effectiveValues()).doesNotContainKey("ssl.keystore.password")
                .containsEntry("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,SSL:SSL,INTERNAL:PLAINTEXT");
    }

    @Test
    void badListenerSettingsAreRefusedNamingTheProblem() {
        assertThatThrownBy(() -> config(Map.of("listeners", "CUSTOM://127.0.0.1:9092")))
                .hasMessageContaining("listener.security.protocol.map");
        assertThatThrownBy(() -> config(Map.of("listeners", "SASL_SSL://127.0.0.1:9092")))
                .hasMessageContaining("ssl.keystore.location");
        // SASL is checked when the node starts, before it registers
        assertThatThrownBy(() -> ListenerSasl.sessions("SASL_SSL", java.util.List.of("PLAIN"), Map.of(),
                (u, m) -> null, () -> { }))
                .hasMessageContaining("listener.name.sasl_ssl.plain.sasl.jaas.config");
        assertThatThrownBy(() -> ListenerSasl.sessions("SASL_SSL", java.util.List.of("GSSAPI"), Map.of(),
                (u, m) -> null, () -> { })).hasMessageContaining("does not serve yet");
        assertThatThrownBy(() -> ListenerSasl.sessions("SASL_SSL", java.util.List.of("PLAIN"), Map.of(
                "listener.name.sasl_ssl.plain.sasl.jaas.config",
                "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"a\" password=\"b\";"),
                (u, m) -> null, () -> { })).hasMessageContaining("defines no user");
        assertThatThrownBy(() -> config(Map.of("listeners", "SSL://127.0.0.1:9093")))
                .hasMessageContaining("ssl.keystore.location");
        assertThatThrownBy(() -> config(Map.of("listeners", "PLAINTEXT://127.0.0.1:9092,PLAINTEXT://127.0.0.1:9093")))
                .hasMessageContaining("twice");
        assertThatThrownBy(() -> config(Map.of("listeners", "PLAINTEXT://127.0.0.1:9092",
                "advertised.listeners", "SSL://127.0.0.1:9093")))
                .hasMessageContaining("not one of the listeners");
        assertThatThrownBy(() -> config(Map.of("ssl.no.such.key", "x"))).hasMessageContaining("unknown config key");
        assertThatThrownBy(() -> config(Map.of("listeners", "REPLICATION://127.0.0.1:9092",
                "listener.security.protocol.map", "REPLICATION:PLAINTEXT"))).hasMessageContaining("reserved");
        assertThatThrownBy(() -> ListenerSasl.sessions("SASL_SSL", java.util.List.of(), Map.of(),
                (u, m) -> null, () -> { }))
                .hasMessageContaining("sasl.enabled.mechanisms");
        // A config's string form never shows a secret
        assertThat(config(Map.of("listeners", "SSL://127.0.0.1:9093", "ssl.keystore.location", "/k.p12",
                "ssl.keystore.password", "hunter2")).toString()).doesNotContain("hunter2");
        assertThatThrownBy(() -> config(Map.of("listener.security.protocol.map", "A:TLS")))
                .hasMessageContaining("NAME:PROTOCOL");
    }
}
