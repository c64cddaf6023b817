package io.tributary.node;

import io.tributary.metadata.Controller;
import io.tributary.metadata.ControllerChannel;
import io.tributary.metadata.LocalMetadataStore;
import io.tributary.metadata.MetadataStore;
import io.tributary.metadata.MetadataView;
import io.tributary.metadata.QuorumClient;
import io.tributary.metadata.QuorumConfig;
import io.tributary.metadata.RatisMetadataStore;
import java.io.Closeable;
import java.io.IOException;
import java.util.UUID;
import org.apache.kafka.common.Uuid;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's part in the metadata quorum, by role:
 * <ul>
 *   <li>single node (no {@code controller.quorum.voters}): a local metadata file and an always-active controller,
 *       reached by direct calls;
 *   <li>voter: a Ratis server of the quorum and a controller that is active while this node is the ready Ratis
 *       leader; the controller is reached, from here as from any node, through the quorum client;
 *   <li>broker only: just the quorum client.
 * </ul>
 */
final class MetadataQuorum implements Closeable {

    private static final Logger log = LoggerFactory.getLogger(MetadataQuorum.class);

    private final MetadataStore store;
    private final Controller controller;
    private final ControllerChannel channel;
    private final QuorumClient client;
    /** Heartbeats and registrations go on their own Ratis client: its ordered replies never wait behind ISR changes. */
    private final ControllerChannel heartbeatChannel;
    private final QuorumClient heartbeatClient;

    private MetadataQuorum(MetadataStore store, Controller controller, ControllerChannel channel, QuorumClient client,
            ControllerChannel heartbeatChannel, QuorumClient heartbeatClient) {
        this.store = store;
        this.controller = controller;
        this.channel = channel;
        this.client = client;
        this.heartbeatChannel = heartbeatChannel;
        this.heartbeatClient = heartbeatClient;
    }

    /** @param interNodeTls mutual TLS on the Ratis port, or null for plaintext */
    /** @param topicConfigs the node's topic config rules, for the controller's config changes */
    static MetadataQuorum start(NodeConfig config, io.tributary.metadata.InterNodeTls interNodeTls,
            io.tributary.metadata.TopicConfigPolicy topicConfigs) throws IOException {
        if (!config.clustered()) {
            LocalMetadataStore store = LocalMetadataStore.open(config.dataDir().resolve("metadata"));
            Controller controller = new Controller(config.nodeId(), store, MetadataQuorum::newTopicId);
            controller.setTopicConfigPolicy(topicConfigs);
            controller.setElectionConfig(config.leaderElections());
            return new MetadataQuorum(store, controller, controller::handle, null, controller::handle, null);
        }
        long electionMs = config.controllerQuorumElectionTimeoutMs();
        QuorumConfig quorum = new QuorumConfig(config.controllerQuorumVoters(),
                config.dataDir().resolve("metadata-raft"), electionMs, electionMs * 2,
                config.controllerQuorumRequestTimeoutMs(), config.metadataSnapshotIntervalRecords(),
                config.metadataLogSegmentBytes(), interNodeTls);
        QuorumClient client = new QuorumClient(quorum, config.controllerQuorumRequestTimeoutMs() * 3,
                config.controllerQuorumRequestTimeoutMs());
        // A heartbeat must reach a new controller well within the session timeout: one that a silent node (the
        // old controller, paused or cut off) has not answered soon is sent elsewhere (see QuorumClient).
        QuorumClient heartbeats = new QuorumClient(quorum, config.controllerQuorumRequestTimeoutMs() * 3,
                heartbeatAttemptTimeoutMs(config));
        if (!config.isVoter()) {
            log.info("node={} is a broker of the cluster with voters {}", config.nodeId(), quorum.voters());
            return new MetadataQuorum(null, null, client, client, heartbeats, heartbeats);
        }
        RatisMetadataStore store = RatisMetadataStore.start(config.nodeId(), quorum);
        // A replaced Ratis client starts at the leader this voter knows, not at a voter that may be down.
        client.useLocalLeaderView(store);
        heartbeats.useLocalLeaderView(store);
        Controller controller = new Controller(config.nodeId(), store, MetadataQuorum::newTopicId,
                System::currentTimeMillis, store::updateSince, config.brokerSessionTimeoutMs());
        controller.setTopicConfigPolicy(topicConfigs);
        controller.setElectionConfig(config.leaderElections());
        // The term is read when Ratis reports this voter ready as leader; the controller's batches carry it.
        store.setController(controller::handle, () -> controller.activate(store.currentTerm()),
                controller::deactivate);
        controller.setLeadershipCheck(store::isLeaderReady);
        return new MetadataQuorum(store, controller, client, client, heartbeats, heartbeats);
    }

    /** Twice the heartbeat interval, and at least a third of the session: a few tries fit in one session. */
    static long heartbeatAttemptTimeoutMs(NodeConfig config) {
        return Math.max(2 * config.brokerHeartbeatIntervalMs(), config.brokerSessionTimeoutMs() / 3);
    }

    /** Kafka's topic ids avoid a leading '-' in their base64 form; use its generator. */
    private static UUID newTopicId() {
        Uuid id = Uuid.randomUuid();
        return new UUID(id.getMostSignificantBits(), id.getLeastSignificantBits());
    }

    /** Broker requests waiting for this node's controller (0 on a broker that is not a voter). */
    int controllerQueuedRequests() {
        return controller == null ? 0 : controller.queuedRequests();
    }

    /** Whether this node's controller is the active one (always false on a broker that is not a voter). */
    boolean controllerActive() {
        return controller != null && controller.isActive();
    }

    /** The voter's Ratis store, for its term and indexes; null on a single node or a broker that is not a voter. */
    RatisMetadataStore ratis() {
        return store instanceof RatisMetadataStore ratis ? ratis : null;
    }

    ControllerChannel channel() {
        return channel;
    }

    /** The line for broker registration and heartbeats (separate from {@link #channel}'s ISR changes). */
    ControllerChannel heartbeatChannel() {
        return heartbeatChannel;
    }

    /** The voter's own quorum state (or the single node's store); null on a broker that is not a voter. */
    MetadataView localView() {
        return store;
    }

    @Override
    public void close() {
        try {
            if (client != null) {
                client.close();
            }
            if (heartbeatClient != null) {
                heartbeatClient.close();
            }
            if (controller != null) {
                controller.close();
            }
            if (store != null) {
                store.close();
            }
        } catch (IOException e) {
            log.error("cannot close the metadata quorum cleanly", e);
        }
    }
}
