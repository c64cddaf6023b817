package io.tributary.node.group;

/**
 * The group coordinator's limits, validated once here (STYLE rule 11). Names follow Kafka's broker configs.
 *
 * @param initialRebalanceDelayMs {@code group.initial.rebalance.delay.ms}: how long a new (Empty) group waits for
 *     more members before its first generation (Kafka default 3000)
 * @param groupMaxSize {@code group.max.size}: members per group (Kafka default Integer.MAX_VALUE; ours 1000)
 * @param minSessionTimeoutMs {@code group.min.session.timeout.ms} (6000)
 * @param maxSessionTimeoutMs {@code group.max.session.timeout.ms} (1800000)
 * @param newMemberJoinTimeoutMs how long a member that joined during a rebalance may stay without completing its
 *     first join (Kafka's 300000, fixed there)
 * @param offsetMetadataMaxSize {@code offset.metadata.max.bytes}: characters of commit metadata (4096)
 * @param offsetsRetentionMs {@code offsets.retention.minutes} in ms (7 days)
 * @param offsetsRetentionCheckIntervalMs {@code offsets.retention.check.interval.ms} (600000)
 * @param maxPendingTxnOffsetsPerGroup transactional offsets of a group waiting for their transaction's marker, over
 *     all open transactions (ours, Kafka has no bound; 100000): a TxnOffsetCommit that would add more is refused with
 *     POLICY_VIOLATION, as the transaction coordinator refuses a transaction beyond its bounds
 */
public record GroupCoordinatorConfig(int initialRebalanceDelayMs, int groupMaxSize, int minSessionTimeoutMs,
        int maxSessionTimeoutMs, int newMemberJoinTimeoutMs, int offsetMetadataMaxSize, long offsetsRetentionMs,
        long offsetsRetentionCheckIntervalMs, int maxPendingTxnOffsetsPerGroup) {

    public static final int DEFAULT_INITIAL_REBALANCE_DELAY_MS = 3000;
    public static final int DEFAULT_GROUP_MAX_SIZE = 1000;
    public static final int DEFAULT_MIN_SESSION_TIMEOUT_MS = 6000;
    public static final int DEFAULT_MAX_SESSION_TIMEOUT_MS = 1_800_000;
    public static final int DEFAULT_NEW_MEMBER_JOIN_TIMEOUT_MS = 300_000;
    public static final int DEFAULT_OFFSET_METADATA_MAX_SIZE = 4096;
    public static final long DEFAULT_OFFSETS_RETENTION_MS = 7L * 24 * 60 * 60 * 1000;
    public static final long DEFAULT_OFFSETS_RETENTION_CHECK_INTERVAL_MS = 600_000;
    public static final int DEFAULT_MAX_PENDING_TXN_OFFSETS_PER_GROUP = 100_000;

    /** The limits above with the default bound of pending transactional offsets. */
    public GroupCoordinatorConfig(int initialRebalanceDelayMs, int groupMaxSize, int minSessionTimeoutMs,
            int maxSessionTimeoutMs, int newMemberJoinTimeoutMs, int offsetMetadataMaxSize, long offsetsRetentionMs,
            long offsetsRetentionCheckIntervalMs) {
        this(initialRebalanceDelayMs, groupMaxSize, minSessionTimeoutMs, maxSessionTimeoutMs, newMemberJoinTimeoutMs,
                offsetMetadataMaxSize, offsetsRetentionMs, offsetsRetentionCheckIntervalMs,
                DEFAULT_MAX_PENDING_TXN_OFFSETS_PER_GROUP);
    }

    public GroupCoordinatorConfig {
        require(initialRebalanceDelayMs >= 0, "initialRebalanceDelayMs >= 0");
        require(groupMaxSize >= 1, "groupMaxSize >= 1");
        require(minSessionTimeoutMs >= 0 && minSessionTimeoutMs <= maxSessionTimeoutMs,
                "0 <= minSessionTimeoutMs <= maxSessionTimeoutMs");
        require(newMemberJoinTimeoutMs > 0, "newMemberJoinTimeoutMs > 0");
        require(offsetMetadataMaxSize >= 0, "offsetMetadataMaxSize >= 0");
        require(offsetsRetentionMs > 0, "offsetsRetentionMs > 0");
        require(offsetsRetentionCheckIntervalMs >= 0, "offsetsRetentionCheckIntervalMs >= 0");
        require(maxPendingTxnOffsetsPerGroup >= 1, "maxPendingTxnOffsetsPerGroup >= 1");
    }

    public static GroupCoordinatorConfig defaults() {
        return new GroupCoordinatorConfig(DEFAULT_INITIAL_REBALANCE_DELAY_MS, DEFAULT_GROUP_MAX_SIZE,
                DEFAULT_MIN_SESSION_TIMEOUT_MS, DEFAULT_MAX_SESSION_TIMEOUT_MS, DEFAULT_NEW_MEMBER_JOIN_TIMEOUT_MS,
                DEFAULT_OFFSET_METADATA_MAX_SIZE, DEFAULT_OFFSETS_RETENTION_MS,
                DEFAULT_OFFSETS_RETENTION_CHECK_INTERVAL_MS);
    }

    public GroupCoordinatorConfig withInitialRebalanceDelayMs(int value) {
        return new GroupCoordinatorConfig(value, groupMaxSize, minSessionTimeoutMs, maxSessionTimeoutMs,
                newMemberJoinTimeoutMs, offsetMetadataMaxSize, offsetsRetentionMs, offsetsRetentionCheckIntervalMs,
                maxPendingTxnOffsetsPerGroup);
    }

    public GroupCoordinatorConfig withGroupMaxSize(int value) {
        return new GroupCoordinatorConfig(initialRebalanceDelayMs, value, minSessionTimeoutMs, maxSessionTimeoutMs,
                newMemberJoinTimeoutMs, offsetMetadataMaxSize, offsetsRetentionMs, offsetsRetentionCheckIntervalMs,
                maxPendingTxnOffsetsPerGroup);
    }

    public GroupCoordinatorConfig withOffsetsRetention(long retentionMs, long checkIntervalMs) {
        return new GroupCoordinatorConfig(initialRebalanceDelayMs, groupMaxSize, minSessionTimeoutMs,
                maxSessionTimeoutMs, newMemberJoinTimeoutMs, offsetMetadataMaxSize, retentionMs, checkIntervalMs,
                maxPendingTxnOffsetsPerGroup);
    }

    public GroupCoordinatorConfig withMaxPendingTxnOffsetsPerGroup(int value) {
        return new GroupCoordinatorConfig(initialRebalanceDelayMs, groupMaxSize, minSessionTimeoutMs,
                maxSessionTimeoutMs, newMemberJoinTimeoutMs, offsetMetadataMaxSize, offsetsRetentionMs,
                offsetsRetentionCheckIntervalMs, value);
    }

    private static void require(boolean condition, String what) {
        if (!condition) {
            throw new IllegalArgumentException("invalid group coordinator config: " + what);
        }
    }
}
