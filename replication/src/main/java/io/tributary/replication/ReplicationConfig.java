package io.tributary.replication;

/**
 * Replication settings of a node, validated here.
 *
 * @param replicaLagTimeMaxMs a follower not caught up for this long leaves the ISR ({@code replica.lag.time.max.ms})
 * @param minInsyncReplicas the node's {@code min.insync.replicas}: what a topic without its own needs for acks=all
 * @param fetchWaitMaxMs how long a leader holds a follower's fetch that finds nothing ({@code replica.fetch.wait.max.ms})
 * @param fetchMaxBytes the most a follower fetch returns ({@code replica.fetch.max.bytes}; one batch always fits)
 */
public record ReplicationConfig(long replicaLagTimeMaxMs, int minInsyncReplicas, int fetchWaitMaxMs,
        int fetchMaxBytes) {

    public static final ReplicationConfig DEFAULTS = new ReplicationConfig(10_000, 2, 500, 1 << 20);

    public ReplicationConfig {
        if (replicaLagTimeMaxMs < 100) {
            throw new IllegalArgumentException("replica.lag.time.max.ms must be >= 100");
        }
        if (minInsyncReplicas < 1) {
            throw new IllegalArgumentException("min.insync.replicas must be >= 1");
        }
        if (fetchWaitMaxMs < 0 || fetchWaitMaxMs > 60_000) {
            throw new IllegalArgumentException("replica.fetch.wait.max.ms must be in 0..60000");
        }
        if (fetchMaxBytes < 1024) {
            throw new IllegalArgumentException("replica.fetch.max.bytes must be >= 1024");
        }
    }

    /**
     * The effective min.insync.replicas of a partition of {@code replicationFactor} replicas with this topic override
     * (null: none): the override, else the node's, never above the replication factor. As Kafka's
     * {@code Partition.effectiveMinIsr}: a value above the replica count would make acks=all impossible for good, so
     * a one-replica topic on a cluster with {@code min.insync.replicas=2} takes acks=all with its one replica.
     */
    int minInsyncFor(String topicOverride, int replicationFactor) {
        int configured = minInsyncReplicas;
        if (topicOverride != null) {
            try {
                configured = Math.max(1, Integer.parseInt(topicOverride.trim()));
            } catch (NumberFormatException e) {
                configured = minInsyncReplicas;
            }
        }
        return Math.max(1, Math.min(configured, replicationFactor));
    }
}
