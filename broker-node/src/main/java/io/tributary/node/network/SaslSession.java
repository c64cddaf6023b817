package io.tributary.node.network;

import java.util.List;
import java.util.function.Function;
import javax.security.sasl.SaslException;
import javax.security.sasl.SaslServer;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;

/**
 * The SASL exchange of one connection on a SASL_PLAINTEXT or SASL_SSL listener, as Kafka runs it: SaslHandshake (v1)
 * picks a mechanism, then SaslAuthenticate requests carry the mechanism's tokens until its server is complete. Until
 * then the connection may send only ApiVersions, SaslHandshake and SaslAuthenticate; anything else closes it (Kafka's
 * IllegalSaslState). A failed authentication is answered SASL_AUTHENTICATION_FAILED, counted, and the connection is
 * closed once that answer is written.
 *
 * <p>Threads: a connection's requests run one at a time, but on different I/O threads: methods are synchronized.
 */
public final class SaslSession {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(SaslSession.class);

    /** What a SaslAuthenticate gets back: the server's challenge, or an error. */
    public record Step(Errors error, String message, byte[] challenge) {}

    private final List<String> enabledMechanisms;
    private final Function<String, SaslServer> servers;
    private final Runnable onFailure;
    private SaslServer server;
    private String principal;
    private boolean failed;

    /**
     * @param servers a new server for an enabled mechanism
     * @param onFailure called once per failed authentication (a metric)
     */
    public SaslSession(List<String> enabledMechanisms, Function<String, SaslServer> servers, Runnable onFailure) {
        this.enabledMechanisms = List.copyOf(enabledMechanisms);
        this.servers = servers;
        this.onFailure = onFailure;
    }

    public List<String> enabledMechanisms() {
        return enabledMechanisms;
    }

    /** Whether a request of {@code api} may be handled on this connection now. */
    public synchronized boolean allows(ApiKeys api) {
        if (failed) {
            return false;
        }
        return principal != null || api == ApiKeys.API_VERSIONS || api == ApiKeys.SASL_HANDSHAKE
                || api == ApiKeys.SASL_AUTHENTICATE;
    }

    /** SaslHandshake: selects {@code mechanism} for this connection. */
    public synchronized Errors handshake(String mechanism) {
        if (server != null || principal != null) {
            return Errors.ILLEGAL_SASL_STATE;
        }
        if (!enabledMechanisms.contains(mechanism)) {
            return Errors.UNSUPPORTED_SASL_MECHANISM;
        }
        server = servers.apply(mechanism);
        return server == null ? Errors.UNSUPPORTED_SASL_MECHANISM : Errors.NONE;
    }

    /** SaslAuthenticate: one token of the exchange. */
    public synchronized Step authenticate(byte[] token) {
        if (server == null || principal != null) {
            return new Step(Errors.ILLEGAL_SASL_STATE, "SaslAuthenticate before SaslHandshake or after "
                    + "authentication", new byte[0]);
        }
        try {
            byte[] challenge = server.evaluateResponse(token);
            if (server.isComplete()) {
                principal = "User:" + server.getAuthorizationID();
            }
            return new Step(Errors.NONE, null, challenge == null ? new byte[0] : challenge);
        } catch (SaslAuthenticationException | SaslException e) {
            failed = true;
            onFailure.run();
            // As Kafka does: the reason in the node's log, a generic one to a client for a SaslException.
            log.info("failed authentication with SASL mechanism {}: {}", server.getMechanismName(), e.getMessage());
            // Kafka tells the client why (wrong password, unknown user) in the same terms.
            String reason = e instanceof SaslAuthenticationException ? e.getMessage()
                    : "Authentication failed during authentication due to invalid credentials with SASL mechanism "
                    + server.getMechanismName();
            return new Step(Errors.SASL_AUTHENTICATION_FAILED, reason, new byte[0]);
        }
    }

    /** Whether an authentication failed on this connection (it is then closed). */
    public synchronized boolean failed() {
        return failed;
    }

    /** Whether the client has authenticated on this connection. */
    public synchronized boolean authenticated() {
        return principal != null;
    }

    /** The authenticated principal ({@code User:name}), or null before authentication. */
    public synchronized String principal() {
        return principal;
    }
}
