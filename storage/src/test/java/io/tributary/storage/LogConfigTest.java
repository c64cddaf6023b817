package io.tributary.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;

import org.junit.jupiter.api.Test;

class LogConfigTest {

    @Test
    void defaultsAreKafkas() {
        assertThat(LogConfig.DEFAULTS.toKafkaConfigs()).containsExactly(
                Map.entry("segment.bytes", "1073741824"),
                Map.entry("segment.ms", "604800000"),
                Map.entry("retention.ms", "604800000"),
                Map.entry("retention.bytes", "-1"),
                Map.entry("max.message.bytes", "1048588"),
                Map.entry("index.interval.bytes", "4096"),
                Map.entry("segment.index.bytes", "10485760"));
    }

    @Test
    void overridesApplyKnownKeysAndIgnoreOthers() {
        LogConfig c = LogConfig.DEFAULTS.withOverrides(Map.of("retention.ms", "-1", "segment.bytes", "2048",
                "cleanup.policy", "compact"));

        assertThat(c.retentionMs()).isEqualTo(-1);
        assertThat(c.segmentBytes()).isEqualTo(2048);
        assertThat(c.maxMessageBytes()).isEqualTo(LogConfig.DEFAULTS.maxMessageBytes());
        assertThat(LogConfig.DEFAULTS.withOverrides(c.toKafkaConfigs())).isEqualTo(c);
    }

    @Test
    void badValuesNameTheKafkaKey() {
        assertThatThrownBy(() -> LogConfig.DEFAULTS.withOverrides(Map.of("segment.ms", "soon")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("segment.ms");
        assertThatThrownBy(() -> LogConfig.DEFAULTS.withOverrides(Map.of("retention.bytes", "-2")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("retention.bytes");
        assertThatThrownBy(() -> LogConfig.DEFAULTS.withOverrides(Map.of("segment.bytes", "0")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("segment.bytes");
        assertThatThrownBy(() -> LogConfig.DEFAULTS.withOverrides(Map.of("segment.bytes", "4294967296")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("segment.bytes");
        assertThatThrownBy(() -> LogConfig.DEFAULTS.withOverrides(Map.of("max.message.bytes", "99999999999")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("max.message.bytes");
        assertThatThrownBy(() -> new LogConfig(1, 1, -1, -1, 0, 0, 4))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("segment.index.bytes");
    }
}
