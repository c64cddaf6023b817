package io.tributary.node;

import static io.tributary.node.TestNodeConfigs.config;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The file's {@code log.message.timestamp.type} and {@code compression.type}: Kafka's defaults, values, checks. */
class NodeConfigMessageFormatTest {

    @Test
    void defaultsAreKafkasAndValuesBecomeTheTopicDefaults() {
        assertThat(config(Map.of()).messageFormatDefaults()).isEqualTo(Map.of(
                "message.timestamp.type", "CreateTime", "compression.type", "producer"));
        NodeConfig set = config(Map.of("log.message.timestamp.type", "LogAppendTime", "compression.type", "zstd"));
        assertThat(set.messageFormatDefaults()).isEqualTo(Map.of(
                "message.timestamp.type", "LogAppendTime", "compression.type", "zstd"));
        assertThat(set.effectiveValues()).containsEntry("log.message.timestamp.type", "LogAppendTime")
                .containsEntry("compression.type", "zstd");
    }

    @Test
    void refusesValuesKafkaDoesNotKnow() {
        assertThatThrownBy(() -> config(Map.of("log.message.timestamp.type", "Now")))
                .hasMessageContaining("log.message.timestamp.type");
        assertThatThrownBy(() -> config(Map.of("compression.type", "brotli")))
                .hasMessageContaining("compression.type");
    }
}
