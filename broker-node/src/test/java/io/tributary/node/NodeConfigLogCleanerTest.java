package io.tributary.node;

import static io.tributary.node.TestNodeConfigs.config;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code log.cleaner.io.max.bytes.per.second}: Kafka's default (no bound), an override shown, the bounds;
 * {@code log.cleaner.threads}: 1 by default, 1..16.
 */
class NodeConfigLogCleanerTest {

    @Test
    void defaultIsKafkasUnboundedRateAndAnOverrideIsShown() {
        assertThat(config(Map.of()).logCleanerIoMaxBytesPerSecond()).isEqualTo(Double.MAX_VALUE);
        assertThat(config(Map.of()).effectiveValues())
                .containsEntry("log.cleaner.io.max.bytes.per.second", "1.7976931348623157E308");

        NodeConfig set = config(Map.of("log.cleaner.io.max.bytes.per.second", "262144"));
        assertThat(set.logCleanerIoMaxBytesPerSecond()).isEqualTo(262_144.0);
        assertThat(set.effectiveValues()).containsEntry("log.cleaner.io.max.bytes.per.second", "262144.0");
        assertThat(config(Map.of("log.cleaner.io.max.bytes.per.second", "1.5e6")).logCleanerIoMaxBytesPerSecond())
                .isEqualTo(1_500_000.0);
    }

    @Test
    void refusesARateThatIsNotAPositiveNumber() {
        for (String bad : new String[] {"0", "-1", "NaN"}) {
            assertThatThrownBy(() -> config(Map.of("log.cleaner.io.max.bytes.per.second", bad)))
                    .as(bad).hasMessageContaining("log.cleaner.io.max.bytes.per.second must be > 0");
        }
        assertThatThrownBy(() -> config(Map.of("log.cleaner.io.max.bytes.per.second", "fast")))
                .hasMessageContaining("'log.cleaner.io.max.bytes.per.second' must be a number");
    }

    @Test
    void cleanerThreadsDefaultToOneAndAreBounded() {
        assertThat(config(Map.of()).logCleanerThreads()).isEqualTo(1);
        assertThat(config(Map.of("log.cleaner.threads", "4")).effectiveValues()).containsEntry("log.cleaner.threads", "4");
        for (String bad : new String[] {"0", "17"}) {
            assertThatThrownBy(() -> config(Map.of("log.cleaner.threads", bad))).as(bad)
                    .hasMessageContaining("log.cleaner.threads must be in 1..16");
        }
    }
}
