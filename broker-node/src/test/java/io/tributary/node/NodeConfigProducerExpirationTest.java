package io.tributary.node;

import static io.tributary.node.TestNodeConfigs.config;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code producer.id.expiration.ms} and its check interval: Kafka's defaults, overrides, and the bounds. */
class NodeConfigProducerExpirationTest {

    @Test
    void defaultsAreKafkasAndOverridesAreShown() {
        NodeConfig defaults = config(Map.of());
        assertThat(defaults.producerIdExpirationMs()).isEqualTo(86_400_000L);
        assertThat(defaults.producerIdExpirationCheckIntervalMs()).isEqualTo(600_000L);

        NodeConfig set = config(Map.of("producer.id.expiration.ms", "3600000",
                "producer.id.expiration.check.interval.ms", "1000"));
        assertThat(set.producerIdExpirationMs()).isEqualTo(3_600_000L);
        assertThat(set.effectiveValues()).containsEntry("producer.id.expiration.ms", "3600000")
                .containsEntry("producer.id.expiration.check.interval.ms", "1000");
    }

    @Test
    void refusesAnExpirationOrIntervalBelowOneMillisecond() {
        assertThatThrownBy(() -> config(Map.of("producer.id.expiration.ms", "0")))
                .hasMessageContaining("producer.id.expiration.ms must be >= 1");
        assertThatThrownBy(() -> config(Map.of("producer.id.expiration.check.interval.ms", "-5")))
                .hasMessageContaining("producer.id.expiration.check.interval.ms must be >= 1");
    }
}
