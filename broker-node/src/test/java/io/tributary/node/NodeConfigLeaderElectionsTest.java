package io.tributary.node;

import static io.tributary.node.TestNodeConfigs.config;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tributary.metadata.LeaderElectionConfig;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The controller's automatic elections: {@code auto.leader.rebalance.enable}, {@code leader.imbalance.*} and
 * {@code unclean.leader.election.enable}, with Kafka's defaults, overrides, and bounds.
 */
class NodeConfigLeaderElectionsTest {

    @Test
    void defaultsAreKafkasAndOverridesAreShown() {
        assertThat(config(Map.of()).leaderElections()).isEqualTo(new LeaderElectionConfig(true, 10, 300_000, false));

        NodeConfig set = config(Map.of("auto.leader.rebalance.enable", "false",
                "leader.imbalance.per.broker.percentage", "25", "leader.imbalance.check.interval.seconds", "2",
                "unclean.leader.election.enable", "true"));
        assertThat(set.leaderElections()).isEqualTo(new LeaderElectionConfig(false, 25, 2_000, true));
        assertThat(set.effectiveValues()).containsEntry("auto.leader.rebalance.enable", "false")
                .containsEntry("leader.imbalance.per.broker.percentage", "25")
                .containsEntry("leader.imbalance.check.interval.seconds", "2")
                .containsEntry("unclean.leader.election.enable", "true");
    }

    @Test
    void refusesAPercentageOutOfRangeAndAnIntervalBelowOneSecond() {
        assertThatThrownBy(() -> config(Map.of("leader.imbalance.per.broker.percentage", "101")))
                .hasMessageContaining("leader.imbalance.per.broker.percentage must be in 0..100");
        assertThatThrownBy(() -> config(Map.of("leader.imbalance.check.interval.seconds", "0")))
                .hasMessageContaining("leader.imbalance.check.interval.seconds must be >= 1");
    }
}
