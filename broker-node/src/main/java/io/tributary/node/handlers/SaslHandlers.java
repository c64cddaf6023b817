package io.tributary.node.handlers;

import io.tributary.node.network.SaslSession;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.message.SaslAuthenticateRequestData;
import org.apache.kafka.common.message.SaslAuthenticateResponseData;
import org.apache.kafka.common.message.SaslHandshakeRequestData;
import org.apache.kafka.common.message.SaslHandshakeResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.Errors;

/**
 * SaslHandshake v1 and SaslAuthenticate v0-2 on SASL listeners (KIP-152: tokens framed as Kafka requests). A v0
 * handshake (raw tokens after it) is answered UNSUPPORTED_VERSION; current clients use v1. On a listener without
 * SASL both answer ILLEGAL_SASL_STATE.
 */
public final class SaslHandlers {

    private SaslHandlers() {}

    public static List<ApiHandler> all() {
        return List.of(new Handshake(), new Authenticate());
    }

    static final class Handshake implements ApiHandler {
        @Override
        public ApiKeys apiKey() {
            return ApiKeys.SASL_HANDSHAKE;
        }

        /** 0 is advertised because librdkafka only uses SASL when the broker's range includes it (it then uses 1). */
        @Override
        public short minVersion() {
            return 0;
        }

        @Override
        public short maxVersion() {
            return 1;
        }

        @Override
        public CompletableFuture<ApiMessage> handle(RequestContext context, ApiMessage message) {
            SaslHandshakeRequestData request = (SaslHandshakeRequestData) message;
            SaslSession sasl = context.sasl();
            if (sasl == null) {
                return CompletableFuture.completedFuture(new SaslHandshakeResponseData()
                        .setErrorCode(Errors.ILLEGAL_SASL_STATE.code()).setMechanisms(List.of()));
            }
            if (context.apiVersion() == 0) {
                // v0 would switch the connection to raw SASL tokens, which this node does not speak.
                return CompletableFuture.completedFuture(new SaslHandshakeResponseData()
                        .setErrorCode(Errors.UNSUPPORTED_VERSION.code()).setMechanisms(sasl.enabledMechanisms()));
            }
            Errors error = sasl.handshake(request.mechanism());
            return CompletableFuture.completedFuture(new SaslHandshakeResponseData()
                    .setErrorCode(error.code()).setMechanisms(sasl.enabledMechanisms()));
        }
    }

    static final class Authenticate implements ApiHandler {
        @Override
        public ApiKeys apiKey() {
            return ApiKeys.SASL_AUTHENTICATE;
        }

        @Override
        public short minVersion() {
            return 0;
        }

        @Override
        public short maxVersion() {
            return 2;
        }

        @Override
        public CompletableFuture<ApiMessage> handle(RequestContext context, ApiMessage message) {
            SaslAuthenticateRequestData request = (SaslAuthenticateRequestData) message;
            SaslSession sasl = context.sasl();
            if (sasl == null) {
                return CompletableFuture.completedFuture(new SaslAuthenticateResponseData()
                        .setErrorCode(Errors.ILLEGAL_SASL_STATE.code())
                        .setErrorMessage("this listener does not use SASL").setAuthBytes(new byte[0]));
            }
            SaslSession.Step step = sasl.authenticate(request.authBytes());
            return CompletableFuture.completedFuture(new SaslAuthenticateResponseData()
                    .setErrorCode(step.error().code())
                    .setErrorMessage(step.message())
                    .setAuthBytes(step.challenge())
                    .setSessionLifetimeMs(0));
        }
    }
}
