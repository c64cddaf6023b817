package io.tributary.node.handlers;

import io.tributary.metadata.DynamicBrokerConfigs;
import io.tributary.metadata.MetadataImage;
import io.tributary.node.NodeConfig;
import io.tributary.storage.CompactionConfig;
import io.tributary.storage.LogConfig;
import io.tributary.storage.MessageFormatConfig;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Where each config value a node shows comes from, as Kafka's DescribeConfigs answers it: for a config, its
 * synonyms in precedence order (KIP-226), the first being the effective value. A topic config: the topic's override
 * (TOPIC_CONFIG), then its broker synonym's layers. A broker config: this broker's dynamic value
 * (DYNAMIC_BROKER_CONFIG), the cluster-wide dynamic default (DYNAMIC_DEFAULT_BROKER_CONFIG), the node's file when it
 * sets another value than the default (STATIC_BROKER_CONFIG), and the default (DEFAULT_CONFIG). Pure; any thread.
 */
final class ConfigLayers {

    static final byte TOPIC_CONFIG = 1;
    static final byte DYNAMIC_BROKER_CONFIG = 2;
    static final byte DYNAMIC_DEFAULT_BROKER_CONFIG = 3;
    static final byte STATIC_BROKER_CONFIG = 4;
    static final byte DEFAULT_CONFIG = 5;

    /** One synonym: a config name, its value at one layer, and that layer. */
    record Entry(String name, String value, byte source) {
    }

    /** Topic configs that are not log configs, with the values this node applies when nothing sets them. */
    static final Map<String, String> TOPIC_BUILT_IN_DEFAULTS = topicBuiltInDefaults();

    /** Built-in defaults of the dynamic broker configs the node's file has no key for (their topic defaults). */
    private static final Map<String, String> BROKER_BUILT_IN_DEFAULTS = brokerBuiltInDefaults();

    private final MetadataImage image;
    private final int nodeId;
    private final Map<String, String> staticValues;

    ConfigLayers(MetadataImage image, int nodeId, Map<String, String> staticValues) {
        this.image = image;
        this.nodeId = nodeId;
        this.staticValues = staticValues;
    }

    private static Map<String, String> topicBuiltInDefaults() {
        Map<String, String> d = new LinkedHashMap<>();
        d.put(CompactionConfig.CLEANUP_POLICY, CompactionConfig.DEFAULTS.cleanupPolicy());
        d.put(CompactionConfig.DELETE_RETENTION_MS, Long.toString(CompactionConfig.DEFAULTS.deleteRetentionMs()));
        d.put(CompactionConfig.MIN_CLEANABLE_DIRTY_RATIO,
                Double.toString(CompactionConfig.DEFAULTS.minCleanableDirtyRatio()));
        d.put(CompactionConfig.MIN_COMPACTION_LAG_MS, Long.toString(CompactionConfig.DEFAULTS.minCompactionLagMs()));
        d.put(CompactionConfig.MAX_COMPACTION_LAG_MS, Long.toString(CompactionConfig.DEFAULTS.maxCompactionLagMs()));
        d.put(MessageFormatConfig.COMPRESSION_TYPE, MessageFormatConfig.DEFAULTS.compressionType());
        d.put(MessageFormatConfig.MESSAGE_TIMESTAMP_TYPE, MessageFormatConfig.DEFAULTS.timestampType());
        d.put(MessageFormatConfig.TIMESTAMP_BEFORE_MAX_MS,
                Long.toString(MessageFormatConfig.DEFAULTS.timestampBeforeMaxMs()));
        d.put(MessageFormatConfig.TIMESTAMP_AFTER_MAX_MS,
                Long.toString(MessageFormatConfig.DEFAULTS.timestampAfterMaxMs()));
        d.put("unclean.leader.election.enable", "false");
        d.put("min.insync.replicas", "1");
        d.put("leader.replication.throttled.replicas", "");
        d.put("follower.replication.throttled.replicas", "");
        LogConfig.DEFAULTS.toKafkaConfigs().forEach(d::put);
        return Collections.unmodifiableMap(d);
    }

    private static Map<String, String> brokerBuiltInDefaults() {
        Map<String, String> d = new TreeMap<>();
        DynamicBrokerConfigs.TOPIC_SYNONYMS.forEach((broker, topic) -> {
            if (!NodeConfig.DEFAULTS.containsKey(broker) && TOPIC_BUILT_IN_DEFAULTS.containsKey(topic)) {
                d.put(broker, TOPIC_BUILT_IN_DEFAULTS.get(topic));
            }
        });
        // Dynamic only, as in Kafka: no bound unless set (kafka-reassign-partitions --throttle sets them).
        DynamicBrokerConfigs.THROTTLE_RATES.forEach(name -> d.put(name, Long.toString(Long.MAX_VALUE)));
        return Collections.unmodifiableMap(d);
    }

    /** Every broker config this node shows, by name: its file's keys and the dynamic ones. */
    List<String> brokerConfigNames() {
        java.util.TreeSet<String> names = new java.util.TreeSet<>(staticValues.keySet());
        names.addAll(BROKER_BUILT_IN_DEFAULTS.keySet());
        return List.copyOf(names);
    }

    /** The layers of broker config {@code name} on this node, first the effective one; empty if unknown. */
    List<Entry> broker(String name) {
        List<Entry> layers = new ArrayList<>();
        String perBroker = image.brokerConfigs(DynamicBrokerConfigs.resourceName(nodeId)).get(name);
        if (perBroker != null) {
            layers.add(new Entry(name, perBroker, DYNAMIC_BROKER_CONFIG));
        }
        String clusterDefault = image.brokerConfigs(DynamicBrokerConfigs.CLUSTER_DEFAULT).get(name);
        if (clusterDefault != null) {
            layers.add(new Entry(name, clusterDefault, DYNAMIC_DEFAULT_BROKER_CONFIG));
        }
        String fromFile = staticValues.get(name);
        if (fromFile != null) {
            String builtIn = NodeConfig.DEFAULTS.get(name);
            if (builtIn == null || !builtIn.equals(fromFile)) {
                layers.add(new Entry(name, fromFile, STATIC_BROKER_CONFIG));
            }
            if (builtIn != null && !builtIn.isEmpty()) {
                layers.add(new Entry(name, builtIn, DEFAULT_CONFIG));
            }
        } else if (BROKER_BUILT_IN_DEFAULTS.containsKey(name)) {
            layers.add(new Entry(name, BROKER_BUILT_IN_DEFAULTS.get(name), DEFAULT_CONFIG));
        }
        return layers;
    }

    /** The cluster-wide dynamic defaults, each its own only layer (what Kafka shows for the empty broker name). */
    List<Entry> clusterDefaults() {
        List<Entry> entries = new ArrayList<>();
        image.brokerConfigs(DynamicBrokerConfigs.CLUSTER_DEFAULT).forEach((name, value) ->
                entries.add(new Entry(name, value, DYNAMIC_DEFAULT_BROKER_CONFIG)));
        return entries;
    }

    /** Every topic config name a topic describe shows, given its overrides. */
    static List<String> topicConfigNames(Map<String, String> overrides) {
        java.util.TreeSet<String> names = new java.util.TreeSet<>(TOPIC_BUILT_IN_DEFAULTS.keySet());
        names.addAll(overrides.keySet());
        return List.copyOf(names);
    }

    /**
     * The layers of topic config {@code name} of a topic with {@code overrides}, first the effective one; the
     * broker layers carry the broker config's name, as Kafka's synonyms do.
     */
    List<Entry> topic(String name, Map<String, String> overrides) {
        List<Entry> layers = new ArrayList<>();
        if (overrides.containsKey(name)) {
            layers.add(new Entry(name, overrides.get(name), TOPIC_CONFIG));
        }
        String brokerName = DynamicBrokerConfigs.brokerSynonym(name);
        List<Entry> brokerLayers = brokerName == null ? List.of() : broker(brokerName);
        layers.addAll(brokerLayers);
        // A topic config without a broker synonym (or one the node knows no default for) ends with its own default.
        String builtIn = TOPIC_BUILT_IN_DEFAULTS.get(name);
        if (brokerLayers.isEmpty() && builtIn != null) {
            layers.add(new Entry(name, builtIn, DEFAULT_CONFIG));
        }
        return layers;
    }
}
