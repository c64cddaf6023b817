package io.tributary.replication;

/**
 * How often the replica manager's background work runs over every hosted log, validated here.
 *
 * @param retentionCheckIntervalMs how often retention runs ({@code log.retention.check.interval.ms})
 * @param flushIntervalMs how often logs are fsynced and their recovery points written ({@code log.flush.interval.ms})
 * @param producerIdExpirationMs an idempotent producer whose last batch timestamp is this old is forgotten
 *     ({@code producer.id.expiration.ms}, Kafka's default one day)
 * @param producerIdExpirationCheckIntervalMs how often that is checked
 *     ({@code producer.id.expiration.check.interval.ms}, Kafka's default ten minutes)
 */
public record LogMaintenanceConfig(long retentionCheckIntervalMs, long flushIntervalMs, long producerIdExpirationMs,
        long producerIdExpirationCheckIntervalMs) {

    public LogMaintenanceConfig {
        require(retentionCheckIntervalMs, "log.retention.check.interval.ms");
        require(flushIntervalMs, "log.flush.interval.ms");
        require(producerIdExpirationMs, "producer.id.expiration.ms");
        require(producerIdExpirationCheckIntervalMs, "producer.id.expiration.check.interval.ms");
    }

    private static void require(long valueMs, String key) {
        if (valueMs < 1) {
            throw new IllegalArgumentException(key + " must be >= 1, was " + valueMs);
        }
    }
}
