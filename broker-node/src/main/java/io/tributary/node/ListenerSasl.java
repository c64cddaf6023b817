package io.tributary.node;

import io.tributary.node.network.SaslSession;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import javax.security.auth.login.AppConfigurationEntry;
import javax.security.sasl.SaslServer;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.config.types.Password;
import org.apache.kafka.common.network.ListenerName;
import org.apache.kafka.common.security.JaasContext;
import org.apache.kafka.common.security.plain.internals.PlainSaslServer;
import org.apache.kafka.common.security.plain.internals.PlainServerCallbackHandler;
import org.apache.kafka.common.security.scram.ScramCredential;
import org.apache.kafka.common.security.scram.internals.ScramMechanism;

/**
 * SASL of the Kafka listeners whose security protocol is SASL_PLAINTEXT or SASL_SSL, configured as a Kafka broker is:
 * {@code sasl.enabled.mechanisms}, and per listener and mechanism the JAAS config
 * {@code listener.name.<listener>.<mechanism>.sasl.jaas.config}. PLAIN checks passwords against that config's
 * {@code user_<name>="<password>"} entries with kafka-clients' own PlainSaslServer and PlainServerCallbackHandler.
 * SCRAM-SHA-256 and SCRAM-SHA-512 run {@link ScramServer} against the credentials in the replicated
 * metadata (AlterUserScramCredentials), looked up when a client authenticates: a user added on any node can log in
 * on every node once its metadata has the record. A SCRAM JAAS config is not needed (and ignored if set).
 */
public final class ListenerSasl {

    /** {@code listener.name.<listener>.<mechanism>.sasl.jaas.config}. */
    private static final Pattern JAAS_KEY = Pattern.compile("listener\\.name\\.[a-z0-9_]+\\.[a-z0-9-]+\\.sasl\\.jaas\\.config");
    static final List<String> SUPPORTED_MECHANISMS = List.of("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512");

    /** A user's SCRAM credential for a mechanism, or null when it has none. */
    @FunctionalInterface
    public interface ScramCredentials {
        ScramCredential lookup(String user, ScramMechanism mechanism);
    }

    private ListenerSasl() {}

    static boolean isJaasKey(String key) {
        return JAAS_KEY.matcher(key).matches();
    }

    /**
     * A new SASL exchange per connection of the SASL listener {@code listenerName}; throws IllegalArgumentException
     * naming the setting when a mechanism is unsupported or has no JAAS config with users.
     */
    public static Supplier<SaslSession> sessions(String listenerName, List<String> mechanisms,
            Map<String, String> jaasConfigs, ScramCredentials scram, Runnable onFailure) {
        if (mechanisms.isEmpty()) {
            throw new IllegalArgumentException("listener " + listenerName
                    + " uses SASL, so sasl.enabled.mechanisms must name at least one mechanism (PLAIN)");
        }
        Map<String, PlainServerCallbackHandler> plain = new HashMap<>();
        for (String mechanism : mechanisms) {
            if (!SUPPORTED_MECHANISMS.contains(mechanism)) {
                throw new IllegalArgumentException("sasl.enabled.mechanisms names " + mechanism
                        + ", which this node does not serve yet (supported: " + SUPPORTED_MECHANISMS + ")");
            }
            if (ScramMechanism.forMechanismName(mechanism) != null) {
                continue;
            }
            String key = "listener.name." + listenerName.toLowerCase(Locale.ROOT) + "."
                    + mechanism.toLowerCase(Locale.ROOT) + "." + SaslConfigs.SASL_JAAS_CONFIG;
            String jaas = jaasConfigs.get(key);
            if (jaas == null) {
                throw new IllegalArgumentException("listener " + listenerName + " uses SASL mechanism " + mechanism
                        + ", so " + key + " must be set (PlainLoginModule with user_<name>=\"<password>\" entries)");
            }
            // Kafka hands JaasContext the listener's configs with the listener prefix stripped.
            Map<String, Object> configs = Map.of(mechanism.toLowerCase(Locale.ROOT) + "."
                    + SaslConfigs.SASL_JAAS_CONFIG, new Password(jaas));
            List<AppConfigurationEntry> entries;
            try {
                entries = JaasContext.loadServerContext(new ListenerName(listenerName), mechanism, configs)
                        .configurationEntries();
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("cannot read " + key + ": " + e.getMessage(), e);
            }
            boolean users = entries.stream().anyMatch(e -> e.getOptions().keySet().stream()
                    .anyMatch(o -> o.startsWith("user_")));
            if (!users) {
                throw new IllegalArgumentException(key + " defines no user (user_<name>=\"<password>\")");
            }
            PlainServerCallbackHandler handler = new PlainServerCallbackHandler();
            handler.configure(configs, mechanism, entries);
            plain.put(mechanism, handler);
        }
        return () -> new SaslSession(mechanisms, mechanism -> server(plain, scram, mechanism), onFailure);
    }

    private static SaslServer server(Map<String, PlainServerCallbackHandler> plain, ScramCredentials scram,
            String mechanism) {
        ScramMechanism scramMechanism = ScramMechanism.forMechanismName(mechanism);
        if (scramMechanism != null) {
            try {
                return new ScramServer(scramMechanism, user -> scram.lookup(user, scramMechanism));
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("the JVM lacks " + scramMechanism.hashAlgorithm(), e);
            }
        }
        PlainServerCallbackHandler handler = plain.get(mechanism);
        return handler == null ? null : new PlainSaslServer(handler);
    }
}
