package io.tributary.storage;

import java.util.Locale;
import java.util.Map;

/**
 * A partition's cleanup settings, named and defaulted as Kafka's topic configs; validated here, where they enter (an
 * invalid value is an {@link IllegalArgumentException} naming the Kafka key).
 *
 * @param delete                 {@code cleanup.policy} contains {@code delete}: retention by time and size applies
 * @param compact                {@code cleanup.policy} contains {@code compact}: each key's latest record is kept
 * @param deleteRetentionMs      {@code delete.retention.ms}: how long a tombstone stays after its first compaction
 * @param minCleanableDirtyRatio {@code min.cleanable.dirty.ratio}: compaction runs once the dirty part is this share
 *                               of the cleanable bytes
 * @param minCompactionLagMs     {@code min.compaction.lag.ms}: a segment is compacted only once its newest record is
 *                               this old
 * @param maxCompactionLagMs     {@code max.compaction.lag.ms}: a dirty segment whose newest record is this old is
 *                               compacted whatever the ratio
 */
public record CompactionConfig(boolean delete, boolean compact, long deleteRetentionMs, double minCleanableDirtyRatio,
        long minCompactionLagMs, long maxCompactionLagMs) {

    public static final String CLEANUP_POLICY = "cleanup.policy";
    public static final String DELETE_RETENTION_MS = "delete.retention.ms";
    public static final String MIN_CLEANABLE_DIRTY_RATIO = "min.cleanable.dirty.ratio";
    public static final String MIN_COMPACTION_LAG_MS = "min.compaction.lag.ms";
    public static final String MAX_COMPACTION_LAG_MS = "max.compaction.lag.ms";

    /** Kafka's defaults: delete only; 1 day of tombstones; ratio 0.5; no minimum lag; no maximum lag. */
    public static final CompactionConfig DEFAULTS = new CompactionConfig(true, false, 86_400_000L, 0.5, 0,
            Long.MAX_VALUE);

    public CompactionConfig {
        if (!delete && !compact) {
            throw new IllegalArgumentException("Invalid value for configuration " + CLEANUP_POLICY
                    + ": must contain delete, compact or both");
        }
        ConfigValues.require(deleteRetentionMs >= 0, DELETE_RETENTION_MS, "must be >= 0", deleteRetentionMs);
        if (!(minCleanableDirtyRatio >= 0 && minCleanableDirtyRatio <= 1)) {
            throw new IllegalArgumentException("Invalid value " + minCleanableDirtyRatio + " for configuration "
                    + MIN_CLEANABLE_DIRTY_RATIO + ": must be in [0, 1]");
        }
        ConfigValues.require(minCompactionLagMs >= 0, MIN_COMPACTION_LAG_MS, "must be >= 0", minCompactionLagMs);
        ConfigValues.require(maxCompactionLagMs >= 1, MAX_COMPACTION_LAG_MS, "must be >= 1", maxCompactionLagMs);
        if (maxCompactionLagMs < minCompactionLagMs) {
            throw new IllegalArgumentException("Invalid value " + maxCompactionLagMs + " for configuration "
                    + MAX_COMPACTION_LAG_MS + ": must not be below " + MIN_COMPACTION_LAG_MS + " ("
                    + minCompactionLagMs + ")");
        }
    }

    /** A copy with the given Kafka topic configs applied; other keys are ignored. */
    public CompactionConfig withOverrides(Map<String, String> configs) {
        boolean d = delete;
        boolean c = compact;
        String policy = configs.get(CLEANUP_POLICY);
        if (policy != null) {
            d = false;
            c = false;
            for (String part : policy.split(",")) {
                switch (part.trim().toLowerCase(Locale.ROOT)) {
                    case "delete" -> d = true;
                    case "compact" -> c = true;
                    default -> throw new IllegalArgumentException("Invalid value " + policy + " for configuration "
                            + CLEANUP_POLICY + ": each of its comma-separated values must be delete or compact");
                }
            }
        }
        return new CompactionConfig(d, c,
                ConfigValues.longValue(configs, DELETE_RETENTION_MS, deleteRetentionMs),
                ConfigValues.doubleValue(configs, MIN_CLEANABLE_DIRTY_RATIO, minCleanableDirtyRatio),
                ConfigValues.longValue(configs, MIN_COMPACTION_LAG_MS, minCompactionLagMs),
                ConfigValues.longValue(configs, MAX_COMPACTION_LAG_MS, maxCompactionLagMs));
    }

    /** The value of {@code cleanup.policy} as Kafka writes it. */
    public String cleanupPolicy() {
        return compact && delete ? "compact,delete" : compact ? "compact" : "delete";
    }
}
