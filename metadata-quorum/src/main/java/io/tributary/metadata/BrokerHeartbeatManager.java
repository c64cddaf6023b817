package io.tributary.metadata;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The active controller's view of broker sessions: when each broker last reached it, per broker epoch. Decides
 * nothing by itself: {@link #expired} names the brokers the controller should fence (with
 * {@link ControllerDecisions#fenceBroker}). Pure apart from its own state: time comes in as {@code nowMs}.
 *
 * <p>Contact counts only for the registration it names: a heartbeat carrying another broker epoch than the image's
 * current registration of that broker (a stale process, or a registration this image does not show yet) does not
 * keep that registration alive. A registered broker not heard from since {@link #activate} counts from the
 * activation time, so that a controller fail-over gives every broker a full session to find the new controller.
 *
 * <p>Thread-safe (synchronized): heartbeats touch it when they arrive, on request threads, so that broker liveness
 * never waits behind controller work; the controller thread asks it what expired. Lifecycle: {@link #activate}
 * each time this node becomes the active controller (it forgets what it knew before), then {@link #touch} and
 * {@link #expired} until it is not.
 */
public final class BrokerHeartbeatManager {

    /**
     * Epochs remembered per broker. Two covers a broker whose new registration is committed but not yet in the
     * image the controller asks about, without letting a stale epoch push out the current one.
     */
    private static final int MAX_EPOCHS_PER_BROKER = 2;

    private final long sessionTimeoutMs;
    /** Broker id to (broker epoch to last contact), at most {@link #MAX_EPOCHS_PER_BROKER} highest epochs each. */
    private final Map<Integer, TreeMap<Long, Long>> lastContactMs = new HashMap<>();
    private long activatedAtMs;
    private boolean active;

    public BrokerHeartbeatManager(long sessionTimeoutMs) {
        if (sessionTimeoutMs <= 0) {
            throw new IllegalArgumentException("broker session timeout must be positive: " + sessionTimeoutMs);
        }
        this.sessionTimeoutMs = sessionTimeoutMs;
    }

    /** This node became the active controller at {@code nowMs}: every registered broker starts a full session. */
    public synchronized void activate(MetadataImage image, long nowMs) {
        lastContactMs.clear();
        for (BrokerRegistration broker : image.brokers().values()) {
            touch(broker.brokerId(), broker.brokerEpoch(), nowMs);
        }
        activatedAtMs = nowMs;
        active = true;
    }

    /** A heartbeat (or a committed registration) from {@code brokerId} under {@code brokerEpoch}. */
    public synchronized void touch(int brokerId, long brokerEpoch, long nowMs) {
        TreeMap<Long, Long> epochs = lastContactMs.computeIfAbsent(brokerId, id -> new TreeMap<>());
        epochs.merge(brokerEpoch, nowMs, Math::max);
        while (epochs.size() > MAX_EPOCHS_PER_BROKER) {
            epochs.pollFirstEntry();
        }
    }

    /**
     * Ids of the brokers registered and unfenced in {@code image} whose current registration was last heard from
     * before {@code nowMs - sessionTimeoutMs}, in ascending order. Fenced brokers are never listed.
     *
     * @throws IllegalStateException if called before {@link #activate}
     */
    public synchronized List<Integer> expired(MetadataImage image, long nowMs) {
        if (!active) {
            throw new IllegalStateException("broker sessions are tracked only by an active controller");
        }
        List<Integer> expired = new ArrayList<>();
        for (BrokerRegistration broker : image.brokers().values()) {
            if (!broker.fenced() && nowMs - lastContactMs(broker) > sessionTimeoutMs) {
                expired.add(broker.brokerId());
            }
        }
        expired.sort(null);
        return expired;
    }

    /** Forgets a broker's contacts; while it stays registered it counts from the activation time again. */
    public synchronized void remove(int brokerId) {
        lastContactMs.remove(brokerId);
    }

    private long lastContactMs(BrokerRegistration broker) {
        TreeMap<Long, Long> epochs = lastContactMs.get(broker.brokerId());
        Long contact = epochs == null ? null : epochs.get(broker.brokerEpoch());
        return contact == null ? activatedAtMs : Math.max(contact, activatedAtMs);
    }
}
