package io.tributary.node.handlers;

import io.tributary.storage.CompactionConfig;
import io.tributary.metadata.DynamicBrokerConfigs;
import io.tributary.replication.ReplicaManager;
import io.tributary.replication.ReplicationQuota;
import io.tributary.storage.LogConfig;
import io.tributary.storage.MessageFormatConfig;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * Topic-level configs: which Kafka topic config names are accepted, and which values this node can honour.
 * Unknown names are refused with INVALID_CONFIG, as Kafka does. The log configs (segment, retention, message size,
 * index) and the cleanup configs ({@code cleanup.policy} delete, compact or both, {@code delete.retention.ms},
 * {@code min.cleanable.dirty.ratio}, {@code min/max.compaction.lag.ms}) are enforced by the log; min.insync.replicas
 * is stored for replication; {@code unclean.leader.election.enable} (true or false) is read by the controller;
 * {@code message.timestamp.type}, {@code compression.type} and the KIP-937 timestamp bounds are applied by the
 * leader's append ({@link MessageFormatConfig}); {@code leader/follower.replication.throttled.replicas} mark the
 * replicas the replication throttles apply to ({@link ReplicationQuota}); the rest of Kafka's names are accepted and stored but change
 * nothing.
 *
 * <p>Dynamic broker configs (KIP-226) are checked here too: those that are topic defaults by the same rules, under
 * their topic names; the node's own ({@code log.cleaner.threads}, {@code log.cleaner.io.max.bytes.per.second}) by
 * the ranges of the node's file, the replication throttle rates as non-negative longs.
 */
public final class TopicConfigs {

    static final Set<String> KNOWN = Set.of(
            "cleanup.policy", "compression.type", "delete.retention.ms", "file.delete.delay.ms", "flush.messages",
            "flush.ms", "index.interval.bytes", "max.compaction.lag.ms", "max.message.bytes",
            "message.timestamp.type", "message.timestamp.before.max.ms", "message.timestamp.after.max.ms",
            "message.timestamp.difference.max.ms", "min.cleanable.dirty.ratio", "min.compaction.lag.ms",
            "min.insync.replicas", "preallocate", "retention.bytes", "retention.ms", "segment.bytes",
            "segment.index.bytes", "segment.jitter.ms", "segment.ms", "unclean.leader.election.enable",
            "local.retention.ms", "local.retention.bytes", "remote.storage.enable",
            ReplicaManager.LEADER_THROTTLED_REPLICAS, ReplicaManager.FOLLOWER_THROTTLED_REPLICAS);

    private TopicConfigs() {}

    /**
     * For the controller's config changes (IncrementalAlterConfigs, AlterConfigs): null if a topic may have exactly
     * {@code overrides}, with every name in {@code names} (deleted ones too) a known topic config, else the reason.
     */
    public static String alterationProblem(Map<String, String> overrides, java.util.Collection<String> names,
            LogConfig defaults) {
        for (String name : names) {
            if (!KNOWN.contains(name)) {
                return "Unknown topic config name: " + name;
            }
        }
        return problem(overrides, defaults);
    }

    /** Null if the overrides are acceptable on top of {@code defaults}, else the reason they are not. */
    static String problem(Map<String, String> overrides, LogConfig defaults) {
        for (Map.Entry<String, String> e : overrides.entrySet()) {
            String key = e.getKey();
            String value = e.getValue();
            if (!KNOWN.contains(key)) {
                return "Unknown topic config name: " + key;
            }
            if (value == null) {
                return "Null value not supported for topic config: " + key;
            }
            if (key.equals("unclean.leader.election.enable") && !value.trim().equalsIgnoreCase("true")
                    && !value.trim().equalsIgnoreCase("false")) {
                return "Invalid value " + value + " for configuration unclean.leader.election.enable: Expected value "
                        + "to be either true or false";
            }
            if (key.equals(ReplicaManager.LEADER_THROTTLED_REPLICAS)
                    || key.equals(ReplicaManager.FOLLOWER_THROTTLED_REPLICAS)) {
                String throttled = ReplicationQuota.problem(key, value);
                if (throttled != null) {
                    return throttled;
                }
            }
            if (key.equals("min.insync.replicas")) {
                try {
                    if (Integer.parseInt(value) < 1) {
                        return "min.insync.replicas must be at least 1";
                    }
                } catch (NumberFormatException ex) {
                    return "min.insync.replicas must be an integer, was " + value;
                }
            }
        }
        try {
            defaults.withOverrides(overrides);
            CompactionConfig.DEFAULTS.withOverrides(overrides);
            MessageFormatConfig.DEFAULTS.withOverrides(overrides);
        } catch (IllegalArgumentException ex) {
            return ex.getMessage();
        }
        return null;
    }

    /**
     * For the controller's dynamic broker config changes: null if a broker (or the cluster default) may have exactly
     * {@code brokerConfigs} (Kafka's broker names, each one dynamic) on top of the node's {@code defaults}, else why.
     */
    public static String brokerProblem(Map<String, String> brokerConfigs, LogConfig defaults) {
        Map<String, String> asTopic = new HashMap<>();
        for (Map.Entry<String, String> e : brokerConfigs.entrySet()) {
            String topicName = DynamicBrokerConfigs.TOPIC_SYNONYMS.get(e.getKey());
            if (topicName != null) {
                asTopic.put(topicName, e.getValue());
            }
        }
        String problem = problem(asTopic, defaults);
        if (problem != null) {
            // Name the broker config the user set, not its topic synonym.
            for (Map.Entry<String, String> e : DynamicBrokerConfigs.TOPIC_SYNONYMS.entrySet()) {
                if (brokerConfigs.containsKey(e.getKey()) && problem.contains(e.getValue())) {
                    return problem.replace(e.getValue(), e.getKey());
                }
            }
            return problem;
        }
        String threads = brokerConfigs.get("log.cleaner.threads");
        if (threads != null && !threads.trim().matches("([1-9]|1[0-6])")) {
            return "Invalid value " + threads + " for configuration log.cleaner.threads: must be in 1..16";
        }
        for (String name : DynamicBrokerConfigs.THROTTLE_RATES) {
            String value = brokerConfigs.get(name);
            if (value == null) {
                continue;
            }
            try {
                if (Long.parseLong(value.trim()) < 0) {
                    return "Invalid value " + value + " for configuration " + name + ": Value must be at least 0";
                }
            } catch (NumberFormatException e) {
                return "Invalid value " + value + " for configuration " + name + ": Not a number of type LONG";
            }
        }
        String rate = brokerConfigs.get("log.cleaner.io.max.bytes.per.second");
        if (rate != null) {
            try {
                if (!(Double.parseDouble(rate.trim()) > 0)) {
                    return "Invalid value " + rate + " for configuration log.cleaner.io.max.bytes.per.second: "
                            + "must be > 0";
                }
            } catch (NumberFormatException e) {
                return "Invalid value " + rate + " for configuration log.cleaner.io.max.bytes.per.second: not a "
                        + "number";
            }
        }
        return null;
    }
}
