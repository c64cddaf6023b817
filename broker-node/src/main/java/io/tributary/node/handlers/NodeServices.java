package io.tributary.node.handlers;

import io.tributary.metadata.BrokerLifecycle;
import io.tributary.metadata.ControllerChannel;
import io.tributary.node.NodeConfig;
import io.tributary.node.metrics.NodeMetrics;
import io.tributary.replication.ReplicaManager;

/**
 * What request handlers share: the node's config and identity, its view of the metadata (kept current by its
 * membership of the cluster), the line to the active controller, the hosted replicas, and the node's meters.
 */
public record NodeServices(
        NodeConfig config, String clusterId, BrokerLifecycle metadata, ControllerChannel controller,
        ReplicaManager replicas, ProducerIdManager producerIds, NodeMetrics metrics) {

    /** How long a handler waits for this node to see a change the controller committed for its client. */
    public static final long METADATA_PROPAGATION_TIMEOUT_MS = 10_000;
}
