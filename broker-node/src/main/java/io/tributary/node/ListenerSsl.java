package io.tributary.node;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.SslConfigs;
import org.apache.kafka.common.config.internals.BrokerSecurityConfigs;
import org.apache.kafka.common.network.ConnectionMode;
import org.apache.kafka.common.security.ssl.SslFactory;

/**
 * TLS of the Kafka listeners whose security protocol is SSL, configured with Kafka's own {@code ssl.*} keys
 * ({@code ssl.keystore.location}, {@code ssl.keystore.type} including PEM, {@code ssl.truststore.*},
 * {@code ssl.client.auth}, {@code ssl.enabled.protocols}, ...) and built by kafka-clients' {@link SslFactory} in
 * server mode, as a Kafka broker builds it: a client config that works against Kafka works here.
 */
public final class ListenerSsl {

    /** Kafka's SSL config definitions: the client ones plus the broker's client-auth and principal mapping. */
    private static final ConfigDef DEFINITION = definition();
    private static final Set<String> KEYS = DEFINITION.names();

    private ListenerSsl() {}

    private static ConfigDef definition() {
        ConfigDef def = new ConfigDef();
        SslConfigs.addClientSslSupport(def);
        def.define(BrokerSecurityConfigs.SSL_CLIENT_AUTH_CONFIG, ConfigDef.Type.STRING, "none",
                ConfigDef.ValidString.in("none", "requested", "required"), ConfigDef.Importance.MEDIUM,
                "whether Kafka clients must present a certificate");
        def.define(BrokerSecurityConfigs.SSL_PRINCIPAL_MAPPING_RULES_CONFIG, ConfigDef.Type.STRING, "DEFAULT",
                ConfigDef.Importance.LOW, "rules mapping certificate subjects to principal names");
        return def;
    }

    /** Whether {@code key} is one of Kafka's {@code ssl.*} settings. */
    static boolean isSslKey(String key) {
        return KEYS.contains(key);
    }

    /** Checks that a TLS listener has a keystore to present; returns {@code ssl} unchanged. */
    static Map<String, String> requireKeystoreIfUsed(Map<String, String> ssl, List<NodeConfig.Listener> listeners) {
        if (listeners.stream().anyMatch(NodeConfig.Listener::tls) && !ssl.containsKey(SslConfigs.SSL_KEYSTORE_LOCATION_CONFIG)
                && !ssl.containsKey(SslConfigs.SSL_KEYSTORE_KEY_CONFIG)) {
            throw new IllegalArgumentException("a listener uses SSL, so ssl.keystore.location (or ssl.keystore.key "
                    + "with ssl.keystore.type=PEM) must name the node's key and certificate");
        }
        return ssl;
    }

    /**
     * A factory of server-side TLS engines for the SSL listeners; throws IllegalArgumentException with Kafka's
     * message when a keystore cannot be read or a value is invalid. Keystores and truststores may be PKCS12, JKS or
     * PEM (files, or {@code ssl.keystore.key} / {@code ssl.keystore.certificate.chain} values), as in Kafka. For a
     * SASL_SSL listener ({@code sasl}) clients are authenticated by SASL, and the node-wide {@code ssl.client.auth}
     * does not apply (as in Kafka, where only a listener-prefixed setting does).
     */
    public static SslFactory serverFactory(Map<String, String> ssl, boolean sasl) {
        try {
            Map<String, String> settings = new java.util.HashMap<>(ssl);
            if (sasl) {
                settings.put(BrokerSecurityConfigs.SSL_CLIENT_AUTH_CONFIG, "none");
            }
            Map<String, Object> values = DEFINITION.parse(settings);
            SslFactory factory = new SslFactory(ConnectionMode.SERVER);
            factory.configure(values);
            return factory;
        } catch (KafkaException e) {
            throw new IllegalArgumentException("cannot set up TLS for the Kafka listeners: " + e.getMessage(), e);
        }
    }
}
