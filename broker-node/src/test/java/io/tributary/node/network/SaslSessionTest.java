package io.tributary.node.network;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import javax.security.auth.login.AppConfigurationEntry;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.security.plain.internals.PlainSaslServer;
import org.apache.kafka.common.security.plain.internals.PlainServerCallbackHandler;
import org.junit.jupiter.api.Test;

/** The SASL exchange of one connection: what may be sent before, during and after authentication. */
class SaslSessionTest {

    private final AtomicInteger failures = new AtomicInteger();

    private SaslSession session() {
        PlainServerCallbackHandler handler = new PlainServerCallbackHandler();
        handler.configure(Map.of(), "PLAIN", List.of(new AppConfigurationEntry(
                "org.apache.kafka.common.security.plain.PlainLoginModule",
                AppConfigurationEntry.LoginModuleControlFlag.REQUIRED, Map.of("user_alice", "alice-secret"))));
        return new SaslSession(List.of("PLAIN"), m -> m.equals("PLAIN") ? new PlainSaslServer(handler) : null,
                failures::incrementAndGet);
    }

    private static byte[] plain(String user, String password) {
        return ("\0" + user + "\0" + password).getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void onlyApiVersionsAndSaslAreServedBeforeAuthenticationAndEverythingAfter() {
        SaslSession sasl = session();
        assertThat(sasl.allows(ApiKeys.API_VERSIONS)).isTrue();
        assertThat(sasl.allows(ApiKeys.SASL_HANDSHAKE)).isTrue();
        assertThat(sasl.allows(ApiKeys.METADATA)).isFalse();
        assertThat(sasl.allows(ApiKeys.PRODUCE)).isFalse();

        assertThat(sasl.handshake("PLAIN")).isEqualTo(Errors.NONE);
        assertThat(sasl.allows(ApiKeys.METADATA)).as("after the handshake, before the token").isFalse();
        SaslSession.Step step = sasl.authenticate(plain("alice", "alice-secret"));
        assertThat(step.error()).isEqualTo(Errors.NONE);
        assertThat(sasl.principal()).isEqualTo("User:alice");
        assertThat(sasl.allows(ApiKeys.PRODUCE)).isTrue();

        // A second exchange on the same connection is refused
        assertThat(sasl.handshake("PLAIN")).isEqualTo(Errors.ILLEGAL_SASL_STATE);
        assertThat(sasl.authenticate(plain("alice", "alice-secret")).error()).isEqualTo(Errors.ILLEGAL_SASL_STATE);
        assertThat(failures).hasValue(0);
    }

    @Test
    void aWrongPasswordFailsIsCountedAndNothingIsServedAfterIt() {
        SaslSession sasl = session();
        assertThat(sasl.handshake("PLAIN")).isEqualTo(Errors.NONE);
        SaslSession.Step step = sasl.authenticate(plain("alice", "guess"));
        assertThat(step.error()).isEqualTo(Errors.SASL_AUTHENTICATION_FAILED);
        assertThat(sasl.failed()).isTrue();
        assertThat(sasl.principal()).isNull();
        assertThat(failures).hasValue(1);
        // Even the APIs allowed before authentication are refused now: the connection is closed
        assertThat(sasl.allows(ApiKeys.API_VERSIONS)).isFalse();
        assertThat(sasl.allows(ApiKeys.SASL_AUTHENTICATE)).isFalse();
        assertThat(sasl.allows(ApiKeys.METADATA)).isFalse();
    }

    @Test
    void anUnknownMechanismAndATokenBeforeTheHandshakeAreRefused() {
        SaslSession sasl = session();
        assertThat(sasl.authenticate(plain("alice", "alice-secret")).error()).isEqualTo(Errors.ILLEGAL_SASL_STATE);
        assertThat(sasl.handshake("SCRAM-SHA-512")).isEqualTo(Errors.UNSUPPORTED_SASL_MECHANISM);
        assertThat(sasl.handshake("PLAIN")).isEqualTo(Errors.NONE);
        assertThat(sasl.principal()).isNull();
    }
}
