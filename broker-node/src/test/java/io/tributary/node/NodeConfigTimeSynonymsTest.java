package io.tributary.node;

import static io.tributary.node.TestNodeConfigs.config;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Kafka's coarser time keys in the node's file, as a {@code server.properties} carries them: {@code log.retention.ms}
 * wins over {@code log.retention.minutes}, which wins over {@code log.retention.hours}; {@code log.roll.ms} over
 * {@code log.roll.hours}.
 */
class NodeConfigTimeSynonymsTest {

    @Test
    void hoursAndMinutesSetRetentionAndRollWhenMillisecondsAreNotGiven() {
        assertThat(config(Map.of()).logRetentionMs()).isEqualTo(168 * 3_600_000L);
        assertThat(config(Map.of("log.retention.hours", "24")).logRetentionMs()).isEqualTo(24 * 3_600_000L);
        assertThat(config(Map.of("log.retention.hours", "24", "log.retention.minutes", "30")).logRetentionMs())
                .isEqualTo(30 * 60_000L);
        assertThat(config(Map.of("log.retention.hours", "24", "log.retention.minutes", "30",
                "log.retention.ms", "1000")).logRetentionMs()).isEqualTo(1_000L);
        assertThat(config(Map.of("log.retention.hours", "-1")).logRetentionMs()).as("keep forever").isEqualTo(-1L);
        assertThat(config(Map.of("log.roll.hours", "1")).logRollMs()).isEqualTo(3_600_000L);
        assertThat(config(Map.of("log.roll.hours", "1", "log.roll.ms", "5000")).logRollMs()).isEqualTo(5_000L);
        assertThat(config(Map.of("log.retention.minutes", "5")).effectiveValues())
                .containsEntry("log.retention.ms", "300000");
    }

    @Test
    void aBadValueIsRefusedNamingItsKey() {
        assertThatThrownBy(() -> config(Map.of("log.retention.hours", "a week")))
                .hasMessageContaining("log.retention.hours");
        assertThatThrownBy(() -> config(Map.of("log.roll.hours", "0"))).hasMessageContaining("log.roll.ms");
    }
}
