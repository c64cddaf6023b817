package io.tributary.node;

import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.function.Function;
import javax.security.sasl.SaslException;
import javax.security.sasl.SaslServer;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.security.scram.ScramCredential;
import org.apache.kafka.common.security.scram.internals.ScramFormatter;
import org.apache.kafka.common.security.scram.internals.ScramMechanism;
import org.apache.kafka.common.security.scram.internals.ScramMessages.ClientFinalMessage;
import org.apache.kafka.common.security.scram.internals.ScramMessages.ClientFirstMessage;
import org.apache.kafka.common.security.scram.internals.ScramMessages.ServerFinalMessage;
import org.apache.kafka.common.security.scram.internals.ScramMessages.ServerFirstMessage;

/**
 * The server side of one SCRAM-SHA-256/512 exchange (RFC 5802, RFC 7677), built from kafka-clients' own message
 * parsers and {@link ScramFormatter}, with Kafka's checks and error messages (its {@code ScramSaslServer}), but
 * with the client-final nonce check Kafka 3.8.1-3.9 used: the client's nonce must <em>end with</em> the nonce of
 * the server-first message, not equal it. librdkafka before 2.6.1 (Debian's kcat, most non-Java clients) sends its
 * own nonce a second time in front (confluentinc/librdkafka#4895); Kafka 4.x's strict check locks all of them out.
 * The check still proves the client saw this exchange's server nonce (the replay concern of CVE-2024-56128), and the proof
 * is verified over the client-final message exactly as sent.
 *
 * <p>Delegation tokens ({@code tokenauth=true}) are not served. Not thread-safe: one per connection, whose
 * {@code SaslSession} serialises calls.
 */
final class ScramServer implements SaslServer {

    private enum State { CLIENT_FIRST, CLIENT_FINAL, COMPLETE, FAILED }

    private final ScramMechanism mechanism;
    private final ScramFormatter formatter;
    private final Function<String, ScramCredential> credentials;
    private State state = State.CLIENT_FIRST;
    private ClientFirstMessage clientFirst;
    private ServerFirstMessage serverFirst;
    private ScramCredential credential;
    private String user;

    /** @param credentials a user's credential for this mechanism, or null */
    ScramServer(ScramMechanism mechanism, Function<String, ScramCredential> credentials)
            throws NoSuchAlgorithmException {
        this.mechanism = mechanism;
        this.formatter = new ScramFormatter(mechanism);
        this.credentials = credentials;
    }

    @Override
    public byte[] evaluateResponse(byte[] response) throws SaslException {
        try {
            return switch (state) {
                case CLIENT_FIRST -> clientFirst(response);
                case CLIENT_FINAL -> clientFinal(response);
                default -> throw new SaslException("SCRAM exchange already " + state.name().toLowerCase());
            };
        } catch (SaslException | org.apache.kafka.common.errors.SaslAuthenticationException e) {
            state = State.FAILED;
            credential = null;
            throw e;
        } catch (RuntimeException e) {
            // A malformed message (a proof of the wrong length, bad base64): a failed login, not a node error.
            state = State.FAILED;
            credential = null;
            throw new SaslException("Authentication failed: invalid SCRAM message", e);
        }
    }

    private byte[] clientFirst(byte[] response) throws SaslException {
        clientFirst = new ClientFirstMessage(response);
        if (clientFirst.extensions().tokenAuthenticated()) {
            throw new SaslAuthenticationException("Authentication failed: delegation tokens are not supported");
        }
        String name = ScramFormatter.username(clientFirst.saslName());
        String authorizationId = clientFirst.authorizationId();
        if (!authorizationId.isEmpty() && !authorizationId.equals(name)) {
            throw new SaslAuthenticationException("Authentication failed: Client requested an authorization id "
                    + "that is different from username");
        }
        credential = credentials.apply(name);
        if (credential == null) {
            throw new SaslAuthenticationException("Authentication failed: Invalid user credentials");
        }
        if (credential.iterations() < mechanism.minIterations()) {
            throw new SaslException("Iterations " + credential.iterations() + " is less than the minimum "
                    + mechanism.minIterations() + " for " + mechanism.mechanismName());
        }
        user = name;
        serverFirst = new ServerFirstMessage(clientFirst.nonce(), formatter.secureRandomString(),
                credential.salt(), credential.iterations());
        state = State.CLIENT_FINAL;
        return serverFirst.toBytes();
    }

    private byte[] clientFinal(byte[] response) throws SaslException {
        ClientFinalMessage clientFinal = new ClientFinalMessage(response);
        if (!clientFinal.nonce().endsWith(serverFirst.nonce())) {
            throw new SaslException("Invalid client nonce in the final client message.");
        }
        try {
            byte[] storedKey = credential.storedKey();
            byte[] signature = formatter.clientSignature(storedKey, clientFirst, serverFirst, clientFinal);
            if (!MessageDigest.isEqual(formatter.storedKey(signature, clientFinal.proof()), storedKey)) {
                throw new SaslException("Invalid client credentials");
            }
            byte[] serverSignature = formatter.serverSignature(credential.serverKey(), clientFirst, serverFirst,
                    clientFinal);
            state = State.COMPLETE;
            credential = null;
            return new ServerFinalMessage(null, serverSignature).toBytes();
        } catch (InvalidKeyException e) {
            throw new SaslException("Authentication failed: invalid SCRAM key", e);
        }
    }

    @Override
    public String getMechanismName() {
        return mechanism.mechanismName();
    }

    @Override
    public boolean isComplete() {
        return state == State.COMPLETE;
    }

    @Override
    public String getAuthorizationID() {
        if (!isComplete()) {
            throw new IllegalStateException("SCRAM authentication not complete");
        }
        return user;
    }

    @Override
    public byte[] unwrap(byte[] incoming, int offset, int len) {
        throw new IllegalStateException("SCRAM supports neither integrity nor privacy");
    }

    @Override
    public byte[] wrap(byte[] outgoing, int offset, int len) {
        throw new IllegalStateException("SCRAM supports neither integrity nor privacy");
    }

    @Override
    public Object getNegotiatedProperty(String propName) {
        if (!isComplete()) {
            throw new IllegalStateException("SCRAM authentication not complete");
        }
        return null;
    }

    @Override
    public void dispose() {
        credential = null;
    }
}
