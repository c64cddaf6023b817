package io.tributary.metadata;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Which broker configs may change without a restart (Kafka's KIP-226 dynamic broker configs that this node has), and
 * how the dynamic layers combine. Pure and stateless; any thread.
 *
 * <p>Precedence, as Kafka's {@code DynamicBrokerConfig}: a topic's own override, then the broker's dynamic config
 * (resource name = its id), then the cluster-wide dynamic default (empty resource name), then the node's file, then
 * the built-in default. The first two dynamic layers live in the replicated metadata
 * ({@link MetadataImage#brokerConfigs(String)}); the file and defaults belong to the node.
 *
 * <p>Most of these are the broker-wide defaults of topic configs ({@link #TOPIC_SYNONYMS}): a topic without its own
 * override takes the dynamic value. The rest ({@link #NODE_CONFIGS}) tune the node itself.
 */
public final class DynamicBrokerConfigs {

    /** The resource name of the cluster-wide default. */
    public static final String CLUSTER_DEFAULT = "";

    /** Dynamic broker configs that are topic-config defaults: broker name -> topic name (Kafka's synonyms). */
    public static final Map<String, String> TOPIC_SYNONYMS = topicSynonyms();

    /** Dynamic broker configs that tune the node rather than its topics. */
    public static final Set<String> NODE_CONFIGS = Set.of(
            "log.cleaner.threads", "log.cleaner.io.max.bytes.per.second",
            "leader.replication.throttled.rate", "follower.replication.throttled.rate",
            "replica.alter.log.dirs.io.max.bytes.per.second");

    /**
     * The node configs whose value is a byte rate with Kafka's default of no bound ({@code Long.MAX_VALUE}): the
     * replication throttles (KIP-73) and the log-dir move throttle, which has nothing to throttle here (no
     * AlterReplicaLogDirs) but is accepted, as {@code kafka-reassign-partitions} sets and clears it with the others.
     */
    public static final Set<String> THROTTLE_RATES = Set.of("leader.replication.throttled.rate",
            "follower.replication.throttled.rate", "replica.alter.log.dirs.io.max.bytes.per.second");

    private DynamicBrokerConfigs() {}

    private static Map<String, String> topicSynonyms() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("log.segment.bytes", "segment.bytes");
        m.put("log.roll.ms", "segment.ms");
        m.put("log.retention.ms", "retention.ms");
        m.put("log.retention.bytes", "retention.bytes");
        m.put("message.max.bytes", "max.message.bytes");
        m.put("log.index.interval.bytes", "index.interval.bytes");
        m.put("log.index.size.max.bytes", "segment.index.bytes");
        m.put("log.cleanup.policy", "cleanup.policy");
        m.put("log.cleaner.delete.retention.ms", "delete.retention.ms");
        m.put("log.cleaner.min.cleanable.ratio", "min.cleanable.dirty.ratio");
        m.put("log.cleaner.min.compaction.lag.ms", "min.compaction.lag.ms");
        m.put("log.cleaner.max.compaction.lag.ms", "max.compaction.lag.ms");
        m.put("log.message.timestamp.type", "message.timestamp.type");
        m.put("log.message.timestamp.before.max.ms", "message.timestamp.before.max.ms");
        m.put("log.message.timestamp.after.max.ms", "message.timestamp.after.max.ms");
        m.put("compression.type", "compression.type");
        m.put("min.insync.replicas", "min.insync.replicas");
        m.put("unclean.leader.election.enable", "unclean.leader.election.enable");
        return Collections.unmodifiableMap(m);
    }

    /** Whether {@code name} may be changed dynamically here. */
    public static boolean isDynamic(String name) {
        return TOPIC_SYNONYMS.containsKey(name) || NODE_CONFIGS.contains(name);
    }

    /** The broker config that is the default of topic config {@code topicName}, or null. */
    public static String brokerSynonym(String topicName) {
        for (Map.Entry<String, String> e : TOPIC_SYNONYMS.entrySet()) {
            if (e.getValue().equals(topicName)) {
                return e.getKey();
            }
        }
        return null;
    }

    /** The resource name of broker {@code brokerId}. */
    public static String resourceName(int brokerId) {
        return Integer.toString(brokerId);
    }

    /** Broker {@code brokerId}'s dynamic configs: the cluster default with the broker's own on top (broker names). */
    public static Map<String, String> effective(MetadataImage image, int brokerId) {
        Map<String, String> merged = new TreeMap<>(image.brokerConfigs(CLUSTER_DEFAULT));
        merged.putAll(image.brokerConfigs(resourceName(brokerId)));
        return merged;
    }

    /**
     * The topic-config defaults broker {@code brokerId}'s dynamic configs set, by topic config name: what a topic
     * without its own override takes instead of the node's file or built-in default.
     */
    public static Map<String, String> topicDefaults(MetadataImage image, int brokerId) {
        Map<String, String> topicDefaults = new TreeMap<>();
        effective(image, brokerId).forEach((name, value) -> {
            String topicName = TOPIC_SYNONYMS.get(name);
            if (topicName != null) {
                topicDefaults.put(topicName, value);
            }
        });
        return topicDefaults;
    }

    /** The dynamic broker config names of {@code names} that are not dynamic here, sorted. */
    public static List<String> notDynamic(java.util.Collection<String> names) {
        return names.stream().filter(n -> !isDynamic(n)).distinct().sorted().toList();
    }
}
