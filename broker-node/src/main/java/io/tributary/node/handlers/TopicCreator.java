package io.tributary.node.handlers;

import io.tributary.metadata.ControllerError;
import io.tributary.metadata.ControllerResult;
import io.tributary.metadata.TopicImage;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Creates topics for CreateTopics and for Metadata's auto-creation: resolves -1 to the node's defaults
 * ({@code num.partitions}, {@code default.replication.factor}), checks the configs, and asks the controller.
 */
final class TopicCreator {

    private final NodeServices node;

    TopicCreator(NodeServices node) {
        this.node = node;
    }

    CompletableFuture<ControllerResult<TopicImage>> create(String name, int partitions, int replicationFactor,
            Map<String, String> configs, boolean validateOnly) {
        String problem = TopicConfigs.problem(configs, node.replicas().defaultLogConfig());
        if (problem != null) {
            return CompletableFuture.completedFuture(ControllerResult.error(ControllerError.INVALID_CONFIG, problem));
        }
        int p = partitions == -1 ? node.config().numPartitions() : partitions;
        int rf = replicationFactor == -1 ? node.config().defaultReplicationFactor() : replicationFactor;
        return node.controller().createTopic(name, p, rf, configs, validateOnly);
    }
}
