package io.tributary.storage;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Per-partition log settings, named and defaulted as Kafka's topic configs. Validated once, here, where they
 * enter; an invalid value is an {@link IllegalArgumentException} naming the Kafka key.
 *
 * @param segmentBytes       {@code segment.bytes}: a segment rolls before an append would make it larger than this
 * @param segmentMs          {@code segment.ms}: a non-empty segment rolls when its first append is older than this
 * @param retentionMs        {@code retention.ms}: closed segments whose newest timestamp is older are deleted; -1 = never
 * @param retentionBytes     {@code retention.bytes}: oldest closed segments are deleted while the log stays at least
 *                           this large without them; -1 = no limit
 * @param maxMessageBytes    {@code max.message.bytes}: largest accepted record batch, in bytes
 * @param indexIntervalBytes {@code index.interval.bytes}: bytes appended between two offset index entries
 * @param segmentIndexBytes  {@code segment.index.bytes}: size bound of each index of a segment; a full index rolls
 */
public record LogConfig(long segmentBytes, long segmentMs, long retentionMs, long retentionBytes,
                        int maxMessageBytes, int indexIntervalBytes, int segmentIndexBytes) {

    public static final String SEGMENT_BYTES = "segment.bytes";
    public static final String SEGMENT_MS = "segment.ms";
    public static final String RETENTION_MS = "retention.ms";
    public static final String RETENTION_BYTES = "retention.bytes";
    public static final String MAX_MESSAGE_BYTES = "max.message.bytes";
    public static final String INDEX_INTERVAL_BYTES = "index.interval.bytes";
    public static final String SEGMENT_INDEX_BYTES = "segment.index.bytes";

    /** Smallest segment.index.bytes: one time index entry (12 bytes). Kafka allows 4; we need room for an entry. */
    static final int MIN_SEGMENT_INDEX_BYTES = 12;

    /** Kafka's defaults. */
    public static final LogConfig DEFAULTS = new LogConfig(1_073_741_824L, 604_800_000L, 604_800_000L, -1L,
            1_048_588, 4096, 10_485_760);

    public LogConfig {
        // Segment file positions are int32 in the offset index, hence the upper bound.
        ConfigValues.require(segmentBytes >= 1 && segmentBytes <= Integer.MAX_VALUE, SEGMENT_BYTES,
                "must be in [1, " + Integer.MAX_VALUE + "]", segmentBytes);
        ConfigValues.require(segmentMs >= 1, SEGMENT_MS, "must be >= 1", segmentMs);
        ConfigValues.require(retentionMs >= -1, RETENTION_MS, "must be >= -1 (-1 = unlimited)", retentionMs);
        ConfigValues.require(retentionBytes >= -1, RETENTION_BYTES, "must be >= -1 (-1 = unlimited)", retentionBytes);
        ConfigValues.require(maxMessageBytes >= 0, MAX_MESSAGE_BYTES, "must be >= 0", maxMessageBytes);
        ConfigValues.require(indexIntervalBytes >= 0, INDEX_INTERVAL_BYTES, "must be >= 0", indexIntervalBytes);
        ConfigValues.require(segmentIndexBytes >= MIN_SEGMENT_INDEX_BYTES, SEGMENT_INDEX_BYTES,
                "must be >= " + MIN_SEGMENT_INDEX_BYTES, segmentIndexBytes);
    }

    /**
     * Returns a copy with the given Kafka topic configs applied. Keys other than the seven above are ignored
     * (they belong to other layers, e.g. {@code cleanup.policy}).
     *
     * @throws IllegalArgumentException if a value is not a number or out of range
     */
    public LogConfig withOverrides(Map<String, String> kafkaTopicConfigs) {
        Map<String, String> c = kafkaTopicConfigs;
        return new LogConfig(
                ConfigValues.longValue(c, SEGMENT_BYTES, segmentBytes),
                ConfigValues.longValue(c, SEGMENT_MS, segmentMs),
                ConfigValues.longValue(c, RETENTION_MS, retentionMs),
                ConfigValues.longValue(c, RETENTION_BYTES, retentionBytes),
                ConfigValues.intValue(c, MAX_MESSAGE_BYTES, maxMessageBytes),
                ConfigValues.intValue(c, INDEX_INTERVAL_BYTES, indexIntervalBytes),
                ConfigValues.intValue(c, SEGMENT_INDEX_BYTES, segmentIndexBytes));
    }

    /** The seven Kafka keys with their values as decimal strings, in a stable order. */
    public Map<String, String> toKafkaConfigs() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(SEGMENT_BYTES, Long.toString(segmentBytes));
        m.put(SEGMENT_MS, Long.toString(segmentMs));
        m.put(RETENTION_MS, Long.toString(retentionMs));
        m.put(RETENTION_BYTES, Long.toString(retentionBytes));
        m.put(MAX_MESSAGE_BYTES, Integer.toString(maxMessageBytes));
        m.put(INDEX_INTERVAL_BYTES, Integer.toString(indexIntervalBytes));
        m.put(SEGMENT_INDEX_BYTES, Integer.toString(segmentIndexBytes));
        return Collections.unmodifiableMap(m);
    }
}
