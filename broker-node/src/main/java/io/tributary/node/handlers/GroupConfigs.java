package io.tributary.node.handlers;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.message.DescribeConfigsRequestData;
import org.apache.kafka.common.message.DescribeConfigsResponseData;
import org.apache.kafka.common.protocol.Errors;

/**
 * DescribeConfigs for GROUP resources (KIP-848 group configs) and CLIENT_METRICS resources (KIP-714), answered as
 * Kafka's {@code ConfigHelper} answers them on a cluster where no group or client-metrics config was ever set:
 * a group, existing or not, has the consumer-group configs at the node's {@code group.consumer.*} values (source
 * DEFAULT_CONFIG); a
 * client-metrics subscription has no configs. DESCRIBE_CONFIGS on the group, or on the cluster for client metrics,
 * as in Kafka; an empty name is INVALID_REQUEST. Share- and streams-group configs are left out: those group types
 * are not served. Nothing here is stored: there is no IncrementalAlterConfigs for these resources yet.
 *
 * <p>Threads: any; stateless.
 */
final class GroupConfigs {

    static final byte CLIENT_METRICS = 16;
    static final byte GROUP = 32;

    /** Kafka's GroupConfig keys, at this node's {@code group.consumer.*} values. */
    static Map<String, String> groupDefaults(NodeServices node) {
        io.tributary.node.group.ConsumerGroupConfig consumer = node.config().consumerGroups();
        return new TreeMap<>(Map.of(
                "consumer.session.timeout.ms", Integer.toString(consumer.sessionTimeoutMs()),
                "consumer.heartbeat.interval.ms", Integer.toString(consumer.heartbeatIntervalMs())));
    }

    private GroupConfigs() {}

    static boolean handles(byte resourceType) {
        return resourceType == GROUP || resourceType == CLIENT_METRICS;
    }

    static DescribeConfigsResponseData.DescribeConfigsResult describe(NodeServices node, RequestContext context,
            DescribeConfigsRequestData.DescribeConfigsResource resource,
            DescribeConfigsResponseData.DescribeConfigsResult result) {
        String name = resource.resourceName();
        boolean group = resource.resourceType() == GROUP;
        boolean allowed = group ? node.allowedOnGroup(context, AclOperation.DESCRIBE_CONFIGS, name)
                : node.allowedOnCluster(context, AclOperation.DESCRIBE_CONFIGS);
        if (!allowed) {
            return result.setErrorCode((group ? Errors.GROUP_AUTHORIZATION_FAILED
                    : Errors.CLUSTER_AUTHORIZATION_FAILED).code()).setConfigs(new ArrayList<>());
        }
        if (name == null || name.isEmpty()) {
            return result.setErrorCode(Errors.INVALID_REQUEST.code()).setConfigs(new ArrayList<>())
                    .setErrorMessage(group ? "Group name must not be empty"
                            : "Client metrics subscription name must not be empty");
        }
        List<DescribeConfigsResponseData.DescribeConfigsResourceResult> configs = new ArrayList<>();
        if (group) {
            groupDefaults(node).forEach((key, value) -> {
                if (resource.configurationKeys() == null || resource.configurationKeys().contains(key)) {
                    configs.add(new DescribeConfigsResponseData.DescribeConfigsResourceResult().setName(key)
                            .setValue(value).setReadOnly(false).setIsSensitive(false)
                            .setConfigSource(ConfigLayers.DEFAULT_CONFIG));
                }
            });
        }
        return result.setErrorCode(Errors.NONE.code()).setConfigs(configs);
    }
}
