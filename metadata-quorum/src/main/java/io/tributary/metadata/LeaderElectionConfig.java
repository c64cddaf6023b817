package io.tributary.metadata;

/**
 * The active controller's settings for elections it starts on its own, with Kafka's names and defaults. Validated
 * here, where they enter.
 *
 * @param autoLeaderRebalanceEnable {@code auto.leader.rebalance.enable} (true): move leadership back to preferred
 *     replicas periodically
 * @param leaderImbalancePerBrokerPercentage {@code leader.imbalance.per.broker.percentage} (10, 0..100): a broker
 *     whose share of not-led preferred partitions is above this gets them back
 * @param leaderImbalanceCheckIntervalMs {@code leader.imbalance.check.interval.seconds} (300) in milliseconds
 * @param uncleanLeaderElectionEnable {@code unclean.leader.election.enable} (false): the default for topics without
 *     their own; true lets the controller elect a live replica outside the ISR when no ISR member is live
 */
public record LeaderElectionConfig(boolean autoLeaderRebalanceEnable, int leaderImbalancePerBrokerPercentage,
        long leaderImbalanceCheckIntervalMs, boolean uncleanLeaderElectionEnable) {

    public static final LeaderElectionConfig DEFAULTS = new LeaderElectionConfig(true, 10, 300_000, false);

    public LeaderElectionConfig {
        if (leaderImbalancePerBrokerPercentage < 0 || leaderImbalancePerBrokerPercentage > 100) {
            throw new IllegalArgumentException("leader.imbalance.per.broker.percentage must be in 0..100, was "
                    + leaderImbalancePerBrokerPercentage);
        }
        if (leaderImbalanceCheckIntervalMs < 1) {
            throw new IllegalArgumentException("leader.imbalance.check.interval.seconds must be >= 1");
        }
    }
}
