package io.tributary.node.handlers;

import io.tributary.metadata.Controller;
import io.tributary.metadata.MetadataStore;
import io.tributary.node.NodeConfig;
import io.tributary.replication.ReplicaManager;

/** What request handlers share: the node's config and identity, the metadata, the controller and the replicas. */
public record NodeServices(
        NodeConfig config, String clusterId, MetadataStore metadata, Controller controller, ReplicaManager replicas,
        ProducerIdManager producerIds) {}
