package io.tributary.storage;

import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * How a leader rewrites the batches it appends, named and defaulted as Kafka's topic configs; validated here, where
 * they enter (an invalid value is an {@link IllegalArgumentException} naming the Kafka key). Kafka's
 * {@code LogValidator} rules: with {@code LogAppendTime} the leader stamps each batch's max timestamp with its append
 * time and sets the batch's timestamp type; with a {@code compression.type} other than {@code producer} a batch of
 * another codec is recompressed; with {@code CreateTime} every record's timestamp must lie within
 * {@code [now - before.max.ms, now + after.max.ms]} (KIP-937).
 *
 * @param logAppendTime          {@code message.timestamp.type} is {@code LogAppendTime} (else {@code CreateTime})
 * @param compressionType        {@code compression.type}: {@code producer} (keep the producer's codec),
 *                               {@code uncompressed}, {@code gzip}, {@code snappy}, {@code lz4} or {@code zstd}
 * @param timestampBeforeMaxMs   {@code message.timestamp.before.max.ms}: how far in the past a CreateTime may be
 * @param timestampAfterMaxMs    {@code message.timestamp.after.max.ms}: how far in the future a CreateTime may be
 */
public record MessageFormatConfig(boolean logAppendTime, String compressionType, long timestampBeforeMaxMs,
        long timestampAfterMaxMs) {

    public static final String MESSAGE_TIMESTAMP_TYPE = "message.timestamp.type";
    public static final String COMPRESSION_TYPE = "compression.type";
    public static final String TIMESTAMP_BEFORE_MAX_MS = "message.timestamp.before.max.ms";
    public static final String TIMESTAMP_AFTER_MAX_MS = "message.timestamp.after.max.ms";
    public static final Set<String> COMPRESSION_TYPES = Set.of("producer", "uncompressed", "gzip", "snappy", "lz4",
            "zstd");

    /** Kafka's defaults: CreateTime, the producer's codec, no bound on timestamps. */
    public static final MessageFormatConfig DEFAULTS = new MessageFormatConfig(false, "producer", Long.MAX_VALUE,
            Long.MAX_VALUE);

    public MessageFormatConfig {
        ConfigValues.require(COMPRESSION_TYPES.contains(compressionType), COMPRESSION_TYPE,
                "must be one of " + new java.util.TreeSet<>(COMPRESSION_TYPES), compressionType);
        ConfigValues.require(timestampBeforeMaxMs >= 0, TIMESTAMP_BEFORE_MAX_MS, "must be >= 0", timestampBeforeMaxMs);
        ConfigValues.require(timestampAfterMaxMs >= 0, TIMESTAMP_AFTER_MAX_MS, "must be >= 0", timestampAfterMaxMs);
    }

    /** A copy with the given Kafka topic configs applied; other keys are ignored. */
    public MessageFormatConfig withOverrides(Map<String, String> configs) {
        boolean appendTime = logAppendTime;
        String type = configs.get(MESSAGE_TIMESTAMP_TYPE);
        if (type != null) {
            ConfigValues.require(type.equals("CreateTime") || type.equals("LogAppendTime"), MESSAGE_TIMESTAMP_TYPE,
                    "must be CreateTime or LogAppendTime", type);
            appendTime = type.equals("LogAppendTime");
        }
        String compression = configs.getOrDefault(COMPRESSION_TYPE, compressionType).trim().toLowerCase(Locale.ROOT);
        return new MessageFormatConfig(appendTime, compression,
                ConfigValues.longValue(configs, TIMESTAMP_BEFORE_MAX_MS, timestampBeforeMaxMs),
                ConfigValues.longValue(configs, TIMESTAMP_AFTER_MAX_MS, timestampAfterMaxMs));
    }

    /** The value of {@code message.timestamp.type} as Kafka writes it. */
    public String timestampType() {
        return logAppendTime ? "LogAppendTime" : "CreateTime";
    }

    /** Whether CreateTime timestamps are bounded at all (else they need not be read). */
    boolean boundsTimestamps() {
        return !logAppendTime && (timestampBeforeMaxMs != Long.MAX_VALUE || timestampAfterMaxMs != Long.MAX_VALUE);
    }
}
