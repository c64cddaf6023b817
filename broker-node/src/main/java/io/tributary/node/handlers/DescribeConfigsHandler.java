package io.tributary.node.handlers;

import io.tributary.metadata.TopicImage;
import io.tributary.metadata.DynamicBrokerConfigs;
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
 * DescribeConfigs v1-v4 for topics (effective configs: the topic's overrides, else this broker's dynamic configs, the
 * cluster-wide dynamic defaults, the node's file, the defaults), for brokers: this broker's configs with the same
 * layers, or, for the empty name, the cluster-wide dynamic defaults only (as Kafka), and for groups and
 * client-metrics subscriptions ({@link GroupConfigs}). Each config carries its source and, when
 * {@code include_synonyms} is asked, every layer that sets it in precedence order ({@link ConfigLayers}).
 * Documentation is not returned.
 */
public final class DescribeConfigsHandler implements ApiHandler {

    static final byte TOPIC = 2;
    static final byte BROKER = 4;
    static final byte BROKER_LOGGER = 8;

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
            results.add(describe(context, resource, request.includeSynonyms()));
        }
        return CompletableFuture.completedFuture(new DescribeConfigsResponseData().setResults(results));
    }

    /** DESCRIBE_CONFIGS on the topic, or on the cluster for a broker, is checked first, as in Kafka. */
    private DescribeConfigsResponseData.DescribeConfigsResult describe(RequestContext context,
            DescribeConfigsRequestData.DescribeConfigsResource resource, boolean includeSynonyms) {
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
        ConfigLayers layers = new ConfigLayers(node.metadata().image(), node.config().nodeId(),
                node.config().effectiveValues());
        Map<String, List<ConfigLayers.Entry>> entries = new TreeMap<>();
        if (resource.resourceType() == TOPIC) {
            TopicImage topic = node.metadata().image().topic(resource.resourceName());
            if (topic == null) {
                return result.setErrorCode(Errors.UNKNOWN_TOPIC_OR_PARTITION.code())
                        .setErrorMessage("Topic " + resource.resourceName() + " does not exist");
            }
            for (String name : ConfigLayers.topicConfigNames(topic.configs())) {
                entries.put(name, layers.topic(name, topic.configs()));
            }
        } else if (resource.resourceType() == BROKER) {
            if (resource.resourceName().isEmpty()) {
                layers.clusterDefaults().forEach(e -> entries.put(e.name(), List.of(e)));
            } else if (!resource.resourceName().equals(Integer.toString(node.config().nodeId()))) {
                return result.setErrorCode(Errors.INVALID_REQUEST.code())
                        .setErrorMessage("Unexpected broker id, expected " + node.config().nodeId()
                                + " or empty string, but received " + resource.resourceName());
            } else {
                for (String name : layers.brokerConfigNames()) {
                    entries.put(name, layers.broker(name));
                }
            }
        } else if (resource.resourceType() == BROKER_LOGGER) {
            // slf4j-simple fixes its levels at start: there is nothing to describe or change at run time.
            return result.setErrorCode(Errors.INVALID_REQUEST.code()).setErrorMessage("broker logger configs are "
                    + "not supported: log levels are set in the node's logging configuration");
        } else {
            return result.setErrorCode(Errors.INVALID_REQUEST.code())
                    .setErrorMessage("Unsupported resource type " + resource.resourceType());
        }
        List<DescribeConfigsResponseData.DescribeConfigsResourceResult> configs = new ArrayList<>();
        for (Map.Entry<String, List<ConfigLayers.Entry>> described : entries.entrySet()) {
            String name = described.getKey();
            List<ConfigLayers.Entry> synonyms = described.getValue();
            if (synonyms.isEmpty()
                    || (resource.configurationKeys() != null && !resource.configurationKeys().contains(name))) {
                continue;
            }
            ConfigLayers.Entry effective = synonyms.get(0);
            DescribeConfigsResponseData.DescribeConfigsResourceResult config = new DescribeConfigsResponseData
                    .DescribeConfigsResourceResult()
                    .setName(name)
                    .setValue(effective.value())
                    .setReadOnly(resource.resourceType() == BROKER && !DynamicBrokerConfigs.isDynamic(name))
                    .setConfigSource(effective.source())
                    .setIsSensitive(false);
            if (includeSynonyms) {
                for (ConfigLayers.Entry e : synonyms) {
                    config.synonyms().add(new DescribeConfigsResponseData.DescribeConfigsSynonym()
                            .setName(e.name()).setValue(e.value()).setSource(e.source()));
                }
            }
            configs.add(config);
        }
        return result.setErrorCode(Errors.NONE.code()).setConfigs(configs);
    }
}
