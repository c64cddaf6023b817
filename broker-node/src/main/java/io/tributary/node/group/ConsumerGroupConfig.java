package io.tributary.node.group;

import java.util.List;

/**
 * The KIP-848 consumer group limits, validated once here (STYLE rule 11). Names follow Kafka's broker configs.
 *
 * @param sessionTimeoutMs {@code group.consumer.session.timeout.ms} (45000): a member that does not heartbeat for
 *     this long is removed and its partitions reassigned
 * @param heartbeatIntervalMs {@code group.consumer.heartbeat.interval.ms} (5000): how often members heartbeat
 * @param maxSize {@code group.consumer.max.size} (Kafka: Integer.MAX_VALUE; ours 1000): members per group
 * @param assignors {@code group.consumer.assignors} (uniform, range): the server-side assignors members may name;
 *     the first is the default
 */
public record ConsumerGroupConfig(int sessionTimeoutMs, int heartbeatIntervalMs, int maxSize, List<String> assignors) {

    public static final int DEFAULT_SESSION_TIMEOUT_MS = 45_000;
    public static final int DEFAULT_HEARTBEAT_INTERVAL_MS = 5_000;
    public static final int DEFAULT_MAX_SIZE = 1000;
    public static final List<String> DEFAULT_ASSIGNORS = List.of("uniform", "range");

    public ConsumerGroupConfig {
        assignors = List.copyOf(assignors);
        require(sessionTimeoutMs > 0, "group.consumer.session.timeout.ms > 0");
        require(heartbeatIntervalMs > 0 && heartbeatIntervalMs < sessionTimeoutMs,
                "0 < group.consumer.heartbeat.interval.ms < group.consumer.session.timeout.ms");
        require(maxSize >= 1, "group.consumer.max.size >= 1");
        require(!assignors.isEmpty(), "group.consumer.assignors names at least one assignor");
        for (String name : assignors) {
            require(ConsumerGroupAssignor.named(name) != null,
                    "group.consumer.assignors: unknown assignor " + name + " (uniform, range)");
        }
    }

    public static ConsumerGroupConfig defaults() {
        return new ConsumerGroupConfig(DEFAULT_SESSION_TIMEOUT_MS, DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_MAX_SIZE,
                DEFAULT_ASSIGNORS);
    }

    private static void require(boolean condition, String what) {
        if (!condition) {
            throw new IllegalArgumentException("invalid consumer group config: " + what);
        }
    }
}
