package io.tributary.metadata;

import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.proto.metadata.BrokerHeartbeatResponse;
import io.tributary.proto.metadata.ControllerErrorCode;
import io.tributary.proto.metadata.ControllerResponse;
import io.tributary.proto.metadata.RegisterBrokerResponse;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A channel that throws instead of answering (a closed client, a bug on the way) must not stop a broker's
 * registration and heartbeats for good: the next tick sends again, and the broker is unfenced.
 */
class BrokerLifecycleSendFailureTest {

    @Test
    void aSendThatThrowsIsRetriedOnTheNextTick() throws Exception {
        AtomicInteger sends = new AtomicInteger();
        ControllerChannel channel = request -> {
            if (sends.incrementAndGet() <= 2) {
                throw new IllegalStateException("channel not ready");
            }
            ControllerResponse.Builder answer = ControllerResponse.newBuilder().setError(ControllerErrorCode.NONE)
                    .setControllerId(1);
            if (request.hasRegisterBroker()) {
                answer.setRegisterBroker(RegisterBrokerResponse.newBuilder().setBrokerEpoch(7));
            } else {
                answer.setHeartbeat(BrokerHeartbeatResponse.newBuilder().setFenced(false));
            }
            return CompletableFuture.completedFuture(answer.build());
        };
        BrokerLifecycle lifecycle = new BrokerLifecycle(1, List.of(), channel, null, 20);
        try {
            lifecycle.start().get(10, TimeUnit.SECONDS);

            assertThat(sends.get()).isGreaterThan(2);
            assertThat(lifecycle.brokerEpoch()).isEqualTo(7);
            assertThat(lifecycle.isFenced()).isFalse();
        } finally {
            lifecycle.close();
        }
    }
}
