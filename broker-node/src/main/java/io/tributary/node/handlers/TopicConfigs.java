package io.tributary.node.handlers;

import io.tributary.storage.CompactionConfig;
import io.tributary.storage.LogConfig;
import java.util.Map;
import java.util.Set;

/**
 * Topic-level configs: which Kafka topic config names are accepted, and which values this node can honour.
 * Unknown names are refused with INVALID_CONFIG, as Kafka does. The log configs (segment, retention, message size,
 * index) and the cleanup configs ({@code cleanup.policy} delete, compact or both, {@code delete.retention.ms},
 * {@code min.cleanable.dirty.ratio}, {@code min/max.compaction.lag.ms}) are enforced by the log; min.insync.replicas
 * is stored for replication; {@code unclean.leader.election.enable} (true or false) is read by the controller; the
 * rest of Kafka's names are accepted and stored but change nothing, except values we cannot honour (LogAppendTime,
 * broker-side recompression), which are refused rather than silently ignored.
 */
public final class TopicConfigs {

    static final Set<String> KNOWN = Set.of(
            "cleanup.policy", "compression.type", "delete.retention.ms", "file.delete.delay.ms", "flush.messages",
            "flush.ms", "index.interval.bytes", "max.compaction.lag.ms", "max.message.bytes",
            "message.timestamp.type", "message.timestamp.before.max.ms", "message.timestamp.after.max.ms",
            "message.timestamp.difference.max.ms", "min.cleanable.dirty.ratio", "min.compaction.lag.ms",
            "min.insync.replicas", "preallocate", "retention.bytes", "retention.ms", "segment.bytes",
            "segment.index.bytes", "segment.jitter.ms", "segment.ms", "unclean.leader.election.enable",
            "local.retention.ms", "local.retention.bytes", "remote.storage.enable");

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
            if (key.equals("message.timestamp.type") && !value.equals("CreateTime")) {
                return "message.timestamp.type=" + value + " is not supported: only CreateTime";
            }
            if (key.equals("compression.type") && !value.equals("producer")) {
                return "compression.type=" + value + " is not supported: only producer";
            }
            if (key.equals("unclean.leader.election.enable") && !value.trim().equalsIgnoreCase("true")
                    && !value.trim().equalsIgnoreCase("false")) {
                return "Invalid value " + value + " for configuration unclean.leader.election.enable: Expected value"
                        + " to be either true or false";
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
        } catch (IllegalArgumentException ex) {
            return ex.getMessage();
        }
        return null;
    }
}
