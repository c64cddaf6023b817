package io.tributary.metadata;

import static io.tributary.metadata.Images.replay;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class BrokerHeartbeatManagerTest {

    private static final long SESSION_MS = 3_000;
    private static final long ACTIVATED_MS = 10_000;

    private static long epoch(MetadataImage image, int brokerId) {
        return image.brokers().get(brokerId).brokerEpoch();
    }

    /** Broker 1 heartbeats at {@code lastHeartbeatMs} (or never, if negative); asked at {@code nowMs}. */
    record ExpiryCase(long lastHeartbeatMs, long nowMs, boolean expired) {}

    static Stream<ExpiryCase> expiryCases() {
        return Stream.of(
                new ExpiryCase(-1, ACTIVATED_MS, false),
                new ExpiryCase(-1, ACTIVATED_MS + SESSION_MS, false),
                new ExpiryCase(-1, ACTIVATED_MS + SESSION_MS + 1, true),
                new ExpiryCase(12_000, ACTIVATED_MS + SESSION_MS + 1, false),
                new ExpiryCase(12_000, 12_000 + SESSION_MS, false),
                new ExpiryCase(12_000, 12_000 + SESSION_MS + 1, true));
    }

    @ParameterizedTest
    @MethodSource("expiryCases")
    void brokerExpiresOnlyAfterAFullSessionWithoutContact(ExpiryCase c) {
        // Given
        MetadataImage image = Images.live(1);
        BrokerHeartbeatManager sessions = new BrokerHeartbeatManager(SESSION_MS);
        sessions.activate(image, ACTIVATED_MS);

        // When
        if (c.lastHeartbeatMs() >= 0) {
            sessions.touch(1, epoch(image, 1), c.lastHeartbeatMs());
        }

        // Then
        assertThat(sessions.expired(image, c.nowMs())).isEqualTo(c.expired() ? List.of(1) : List.of());
    }

    @Test
    void expiredBrokersAreListedInAscendingOrder() {
        MetadataImage image = Images.live(3, 1, 2);
        BrokerHeartbeatManager sessions = new BrokerHeartbeatManager(SESSION_MS);
        sessions.activate(image, 0);

        assertThat(sessions.expired(image, SESSION_MS + 1)).containsExactly(1, 2, 3);
    }

    @Test
    void activationGivesEveryBrokerAFreshSession() {
        // Given: broker 1 went quiet long ago under this controller.
        MetadataImage image = Images.live(1, 2);
        BrokerHeartbeatManager sessions = new BrokerHeartbeatManager(SESSION_MS);
        sessions.activate(image, 0);
        sessions.touch(1, epoch(image, 1), 100);
        sessions.touch(2, epoch(image, 2), 50_000);
        assertThat(sessions.expired(image, 50_000)).containsExactly(1);

        // When: this node loses and regains leadership of the quorum.
        sessions.activate(image, 60_000);

        // Then
        assertThat(sessions.expired(image, 60_000 + SESSION_MS)).isEmpty();
        assertThat(sessions.expired(image, 60_000 + SESSION_MS + 1)).containsExactly(1, 2);
    }

    @Test
    void heartbeatUnderAnotherBrokerEpochDoesNotKeepTheRegistrationAlive() {
        // Given: broker 1 re-registered; the old process keeps heartbeating with its old epoch.
        MetadataImage image = Images.live(1);
        long oldEpoch = epoch(image, 1);
        BrokerHeartbeatManager sessions = new BrokerHeartbeatManager(SESSION_MS);
        sessions.activate(image, 0);
        image = replay(image, ControllerDecisions.registerBrokerIncarnation(image, 1, "inc-1-b", Images.endpoints(1),
                null));
        image = replay(image, ControllerDecisions.unfenceBrokerAndElect(image, 1));
        long newEpoch = epoch(image, 1);

        // When
        sessions.touch(1, oldEpoch, 2_000);
        sessions.touch(1, newEpoch - 1, 2_500);

        // Then: only activation counts.
        assertThat(sessions.expired(image, SESSION_MS + 1)).containsExactly(1);

        // And a heartbeat under the current epoch does count.
        sessions.touch(1, newEpoch, 2_500);
        assertThat(sessions.expired(image, SESSION_MS + 1)).isEmpty();
    }

    @Test
    void heartbeatUnderANewerEpochDoesNotEraseContactForTheCurrentOne() {
        // Given: the image the controller asks about does not show broker 1's newest registration yet.
        MetadataImage image = Images.live(1);
        BrokerHeartbeatManager sessions = new BrokerHeartbeatManager(SESSION_MS);
        sessions.activate(image, 0);
        sessions.touch(1, epoch(image, 1), 2_000);

        // When
        sessions.touch(1, epoch(image, 1) + 100, 2_100);
        sessions.touch(1, epoch(image, 1) - 1, 2_200);

        // Then
        assertThat(sessions.expired(image, 2_000 + SESSION_MS)).isEmpty();
        assertThat(sessions.expired(image, 2_000 + SESSION_MS + 1)).containsExactly(1);
    }

    @Test
    void fencedBrokersAreNeverListed() {
        // Given: broker 2 is registered but fenced (never unfenced), broker 3 was fenced after expiring.
        MetadataImage image = Images.registered(Images.live(1, 3), 2);
        image = replay(image, ControllerDecisions.fenceBroker(image, 3));
        BrokerHeartbeatManager sessions = new BrokerHeartbeatManager(SESSION_MS);
        sessions.activate(image, 0);

        // Then
        assertThat(sessions.expired(image, 1_000_000)).containsExactly(1);
    }

    @Test
    void brokerRegisteredAfterActivationCountsFromActivation() {
        MetadataImage image = Images.live(1);
        BrokerHeartbeatManager sessions = new BrokerHeartbeatManager(SESSION_MS);
        sessions.activate(image, 0);
        sessions.touch(1, epoch(image, 1), 5_000);
        image = Images.registered(image, 2);
        image = replay(image, ControllerDecisions.unfenceBrokerAndElect(image, 2));

        assertThat(sessions.expired(image, 5_000)).containsExactly(2);
    }

    @Test
    void removedBrokerCountsFromActivationAgain() {
        MetadataImage image = Images.live(1);
        BrokerHeartbeatManager sessions = new BrokerHeartbeatManager(SESSION_MS);
        sessions.activate(image, 0);
        sessions.touch(1, epoch(image, 1), 5_000);

        sessions.remove(1);

        assertThat(sessions.expired(image, 5_000)).containsExactly(1);
    }

    @Test
    void askingBeforeActivationIsAProgrammerError() {
        BrokerHeartbeatManager sessions = new BrokerHeartbeatManager(SESSION_MS);
        assertThatThrownBy(() -> sessions.expired(Images.live(1), 0)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> new BrokerHeartbeatManager(0)).isInstanceOf(IllegalArgumentException.class);
    }
}
