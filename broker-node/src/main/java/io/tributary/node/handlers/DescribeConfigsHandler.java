package io.tributary.node.handlers;

import io.tributary.metadata.TopicImage;
import io.tributary.storage.CompactionConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.message.DescribeConfigsRequestData;
import org.apache.kafka.common.message.DescribeConfigsResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.protocol.Errors;

/**
 * DescribeConfigs v1-v4 for topics (effective configs: the topic's overrides, else the node's defaults), for
 * this broker (its node config), and for groups and client-metrics subscriptions ({@link GroupConfigs}). Synonyms
 * and documentation are not returned.
 */
public final class DescribeConfigsHandler implements ApiHandler {

    static final byte TOPIC = 2;
    static final byte BROKER = 4;
    static final byte SOURCE_TOPIC_CONFIG = 1;
    static final byte SOURCE_STATIC_BROKER_CONFIG = 4;
    static final byte SOURCE_DEFAULT_CONFIG = 5;

    /** Topic configs that are not log configs, with the values this node always applies. */
    private static final Map<String, String> FIXED_TOPIC_DEFAULTS = Map.of(
            CompactionConfig.CLEANUP_POLICY, CompactionConfig.DEFAULTS.cleanupPolicy(),
            CompactionConfig.DELETE_RETENTION_MS, Long.toString(CompactionConfig.DEFAULTS.deleteRetentionMs()),
            CompactionConfig.MIN_CLEANABLE_DIRTY_RATIO,
            Double.toString(CompactionConfig.DEFAULTS.minCleanableDirtyRatio()),
            CompactionConfig.MIN_COMPACTION_LAG_MS, Long.toString(CompactionConfig.DEFAULTS.minCompactionLagMs()),
            CompactionConfig.MAX_COMPACTION_LAG_MS, Long.toString(CompactionConfig.DEFAULTS.maxCompactionLagMs()),
            "compression.type", "producer",
            "message.timestamp.type", "CreateTime",
            "min.insync.replicas", "1");

    private final NodeServices node;

    public DescribeConfigsHandler(NodeServices node) {
        this.node = node;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.DESCRIBE_CONFIGS;
    }

    @Override
    public short minVersion() {
        return 1;
    }

    @Override
    public short maxVersion() {
        return 4;
    }

    @Override
    public CompletableFuture<ApiMessage> handle(RequestContext context, ApiMessage message) {
        DescribeConfigsRequestData request = (DescribeConfigsRequestData) message;
        List<DescribeConfigsResponseData.DescribeConfigsResult> results = new ArrayList<>();
        for (DescribeConfigsRequestData.DescribeConfigsResource resource : request.resources()) {
            results.add(describe(context, resource));
        }
        return CompletableFuture.completedFuture(new DescribeConfigsResponseData().setResults(results));
    }

    /** DESCRIBE_CONFIGS on the topic, or on the cluster for a broker, is checked first, as in Kafka. */
    private DescribeConfigsResponseData.DescribeConfigsResult describe(RequestContext context,
            DescribeConfigsRequestData.DescribeConfigsResource resource) {
        DescribeConfigsResponseData.DescribeConfigsResult result = new DescribeConfigsResponseData
                .DescribeConfigsResult()
                .setResourceType(resource.resourceType())
                .setResourceName(resource.resourceName());
        if (resource.resourceType() == TOPIC
                && !node.allowedOnTopic(context, AclOperation.DESCRIBE_CONFIGS, resource.resourceName())) {
            return result.setErrorCode(Errors.TOPIC_AUTHORIZATION_FAILED.code()).setConfigs(new ArrayList<>());
        }
        if (resource.resourceType() == BROKER && !node.allowedOnCluster(context, AclOperation.DESCRIBE_CONFIGS)) {
            return result.setErrorCode(Errors.CLUSTER_AUTHORIZATION_FAILED.code()).setConfigs(new ArrayList<>());
        }
        if (GroupConfigs.handles(resource.resourceType())) {
            return GroupConfigs.describe(node, context, resource, result);
        }
        Map<String, String> values = new TreeMap<>();
        Map<String, Byte> sources = new TreeMap<>();
        if (resource.resourceType() == TOPIC) {
            TopicImage topic = node.metadata().image().topic(resource.resourceName());
            if (topic == null) {
                return result.setErrorCode(Errors.UNKNOWN_TOPIC_OR_PARTITION.code())
                        .setErrorMessage("Topic " + resource.resourceName() + " does not exist");
            }
            FIXED_TOPIC_DEFAULTS.forEach((k, v) -> put(values, sources, k, v, SOURCE_DEFAULT_CONFIG));
            put(values, sources, "unclean.leader.election.enable",
                    Boolean.toString(node.config().leaderElections().uncleanLeaderElectionEnable()),
                    SOURCE_DEFAULT_CONFIG);
            node.replicas().defaultLogConfig().toKafkaConfigs()
                    .forEach((k, v) -> put(values, sources, k, v, SOURCE_DEFAULT_CONFIG));
            topic.configs().forEach((k, v) -> put(values, sources, k, v, SOURCE_TOPIC_CONFIG));
        } else if (resource.resourceType() == BROKER) {
            if (!resource.resourceName().isEmpty()
                    && !resource.resourceName().equals(Integer.toString(node.config().nodeId()))) {
                return result.setErrorCode(Errors.INVALID_REQUEST.code())
                        .setErrorMessage("This node is broker " + node.config().nodeId());
            }
            node.config().effectiveValues().forEach((k, v) -> put(values, sources, k, v, SOURCE_STATIC_BROKER_CONFIG));
        } else {
            return result.setErrorCode(Errors.INVALID_REQUEST.code())
                    .setErrorMessage("Unsupported resource type " + resource.resourceType());
        }
        List<DescribeConfigsResponseData.DescribeConfigsResourceResult> configs = new ArrayList<>();
        for (Map.Entry<String, String> e : values.entrySet()) {
            if (resource.configurationKeys() != null && !resource.configurationKeys().contains(e.getKey())) {
                continue;
            }
            configs.add(new DescribeConfigsResponseData.DescribeConfigsResourceResult()
                    .setName(e.getKey())
                    .setValue(e.getValue())
                    .setReadOnly(resource.resourceType() == BROKER)
                    .setConfigSource(sources.get(e.getKey()))
                    .setIsSensitive(false));
        }
        return result.setErrorCode(Errors.NONE.code()).setConfigs(configs);
    }

    private static void put(Map<String, String> values, Map<String, Byte> sources, String key, String value,
            byte source) {
        values.put(key, value);
        sources.put(key, source);
    }
}
