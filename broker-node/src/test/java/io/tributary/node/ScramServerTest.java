package io.tributary.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import javax.security.sasl.SaslException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.security.scram.ScramCredential;
import org.apache.kafka.common.security.scram.internals.ScramFormatter;
import org.apache.kafka.common.security.scram.internals.ScramMechanism;
import org.apache.kafka.common.security.scram.internals.ScramMessages.ClientFinalMessage;
import org.apache.kafka.common.security.scram.internals.ScramMessages.ClientFirstMessage;
import org.apache.kafka.common.security.scram.internals.ScramMessages.ServerFinalMessage;
import org.apache.kafka.common.security.scram.internals.ScramMessages.ServerFirstMessage;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The SCRAM server against a client built from kafka-clients' own SCRAM primitives (RFC 5802 client side). */
class ScramServerTest {

    private static final String CLIENT_NONCE = "rOprNGfwEbeRWgbNEkqO";

    /** Runs one exchange for {@code user}/{@code password}; {@code finalNonce} builds the nonce the client echoes. */
    private static String exchange(ScramMechanism mechanism, ScramCredential stored, String user, String password,
            java.util.function.UnaryOperator<String> finalNonce) throws Exception {
        ScramFormatter formatter = new ScramFormatter(mechanism);
        ScramServer server = new ScramServer(mechanism, name -> name.equals("alice") ? stored : null);
        ClientFirstMessage first = new ClientFirstMessage(ScramFormatter.saslName(user), CLIENT_NONCE, Map.of());
        ServerFirstMessage serverFirst = new ServerFirstMessage(server.evaluateResponse(first.toBytes()));
        assertThat(serverFirst.nonce()).startsWith(CLIENT_NONCE).isNotEqualTo(CLIENT_NONCE);
        byte[] salted = formatter.saltedPassword(password, serverFirst.salt(), serverFirst.iterations());
        ClientFinalMessage clientFinal = new ClientFinalMessage("n,,".getBytes(StandardCharsets.UTF_8),
                finalNonce.apply(serverFirst.nonce()));
        clientFinal.proof(formatter.clientProof(salted, first, serverFirst, clientFinal));
        ServerFinalMessage serverFinal = new ServerFinalMessage(server.evaluateResponse(clientFinal.toBytes()));
        assertThat(server.isComplete()).isTrue();
        // the client checks the server knew the credential too
        assertThat(serverFinal.serverSignature()).isEqualTo(formatter.serverSignature(formatter.serverKey(salted),
                first, serverFirst, clientFinal));
        return server.getAuthorizationID();
    }

    private static ScramCredential credential(ScramMechanism mechanism, String password) throws Exception {
        return new ScramFormatter(mechanism).generateCredential(password, 4096);
    }

    @ParameterizedTest
    @EnumSource(ScramMechanism.class)
    void theRightPasswordAuthenticatesTheUser(ScramMechanism mechanism) throws Exception {
        assertThat(exchange(mechanism, credential(mechanism, "secret"), "alice", "secret", n -> n))
                .isEqualTo("alice");
    }

    @ParameterizedTest
    @EnumSource(ScramMechanism.class)
    void librdkafkasDoubledClientNonceIsAccepted(ScramMechanism mechanism) throws Exception {
        // librdkafka < 2.6.1 puts its own nonce in front of the server's combined nonce a second time
        assertThat(exchange(mechanism, credential(mechanism, "secret"), "alice", "secret",
                n -> CLIENT_NONCE + n)).isEqualTo("alice");
    }

    @ParameterizedTest
    @EnumSource(ScramMechanism.class)
    void aNonceWithoutTheServersPartIsRefused(ScramMechanism mechanism) throws Exception {
        assertThatThrownBy(() -> exchange(mechanism, credential(mechanism, "secret"), "alice", "secret",
                n -> CLIENT_NONCE)).isInstanceOf(SaslException.class).hasMessageContaining("nonce");
        assertThatThrownBy(() -> exchange(mechanism, credential(mechanism, "secret"), "alice", "secret",
                n -> n + "x")).isInstanceOf(SaslException.class).hasMessageContaining("nonce");
    }

    @ParameterizedTest
    @EnumSource(ScramMechanism.class)
    void aWrongPasswordOrAnUnknownUserIsRefused(ScramMechanism mechanism) throws Exception {
        assertThatThrownBy(() -> exchange(mechanism, credential(mechanism, "secret"), "alice", "guess", n -> n))
                .isInstanceOf(SaslException.class).hasMessageContaining("Invalid client credentials");
        assertThatThrownBy(() -> exchange(mechanism, credential(mechanism, "secret"), "mallory", "secret",
                n -> n)).isInstanceOf(SaslAuthenticationException.class);
    }

    @ParameterizedTest
    @EnumSource(ScramMechanism.class)
    void aMalformedFinalMessageIsAFailedLoginNotAnError(ScramMechanism mechanism) throws Exception {
        ScramCredential stored = credential(mechanism, "secret");
        ScramServer server = new ScramServer(mechanism, name -> stored);
        ClientFirstMessage first = new ClientFirstMessage("alice", CLIENT_NONCE, Map.of());
        ServerFirstMessage serverFirst = new ServerFirstMessage(server.evaluateResponse(first.toBytes()));
        // a proof of the wrong length
        byte[] shortProof = ("c=biws,r=" + serverFirst.nonce() + ",p=AAAA").getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> server.evaluateResponse(shortProof)).isInstanceOf(SaslException.class);
        assertThat(server.isComplete()).isFalse();
        assertThatThrownBy(() -> server.evaluateResponse(shortProof)).as("no second try")
                .isInstanceOf(SaslException.class);
    }

    @ParameterizedTest
    @EnumSource(ScramMechanism.class)
    void anotherAuthorizationIdIsRefused(ScramMechanism mechanism) throws Exception {
        ScramCredential stored = credential(mechanism, "secret");
        ScramServer server = new ScramServer(mechanism, name -> stored);
        byte[] first = ("n,a=admin,n=alice,r=" + CLIENT_NONCE).getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> server.evaluateResponse(first)).isInstanceOf(SaslAuthenticationException.class)
                .hasMessageContaining("authorization id");
        assertThat(server.isComplete()).isFalse();
    }
}
