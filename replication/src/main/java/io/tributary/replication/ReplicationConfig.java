package io.tributary.replication;

/**
 * Replication settings of a node, validated here.
 *
 * @param replicaLagTimeMaxMs a follower not caught up for this long leaves the ISR ({@code replica.lag.time.max.ms})
 * @param minInsyncReplicas the node's {@code min.insync.replicas}
 * @param minInsyncReplicasExplicit whether it was set; if not, a topic without its own uses min(it, replication
 *     factor), so that RF 1 and 2 topics stay writable with acks=all
 * @param fetchWaitMaxMs how long a leader holds a follower's fetch that finds nothing ({@code replica.fetch.wait.max.ms})
 * @param fetchMaxBytes the most a follower fetch returns ({@code replica.fetch.max.bytes}; one batch always fits)
 */
public record ReplicationConfig(long replicaLagTimeMaxMs, int minInsyncReplicas, boolean minInsyncReplicasExplicit,
        int fetchWaitMaxMs, int fetchMaxBytes) {

    public static final ReplicationConfig DEFAULTS = new ReplicationConfig(10_000, 2, false, 500, 1 << 20);

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

    /** The effective min.insync.replicas of a partition with this topic override (null: none). */
    int minInsyncFor(String topicOverride, int replicationFactor) {
        if (topicOverride != null) {
            try {
                return Math.max(1, Integer.parseInt(topicOverride));
            } catch (NumberFormatException e) {
                return minInsyncReplicas;
            }
        }
        return minInsyncReplicasExplicit ? minInsyncReplicas : Math.min(minInsyncReplicas, replicationFactor);
    }
}
