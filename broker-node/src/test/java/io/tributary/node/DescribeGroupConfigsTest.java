package io.tributary.node;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.message.DescribeConfigsRequestData;
import org.apache.kafka.common.message.DescribeConfigsResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DescribeConfigs for GROUP and CLIENT_METRICS resources through kafka-clients' admin client, as Kafka answers them
 * with nothing set: a group's consumer-group configs at their defaults (DEFAULT_CONFIG), a client-metrics
 * subscription with no configs; an empty name is INVALID_REQUEST. (Refusals without ACLs:
 * {@code AuthorizationBehaviourTest}.)
 */
class DescribeGroupConfigsTest {

    private NodeWithAdmin started;
    private InProcessNode node;
    private Admin admin;

    @BeforeEach
    void start(@TempDir Path dataDir) throws Exception {
        started = NodeWithAdmin.start(dataDir, Map.of());
        node = started.node;
        admin = started.admin;
    }

    @AfterEach
    void stop() {
        if (started != null) {
            started.close();
        }
    }

    @Test
    void aGroupHasTheConsumerGroupDefaultsAndAClientMetricsSubscriptionNoConfigs() throws Exception {
        // When: a group (that never existed) and a client-metrics subscription are described
        ConfigResource group = new ConfigResource(ConfigResource.Type.GROUP, "some-group");
        ConfigResource metrics = new ConfigResource(ConfigResource.Type.CLIENT_METRICS, "some-subscription");
        Map<ConfigResource, Config> described = admin.describeConfigs(List.of(group, metrics)).all()
                .get(30, TimeUnit.SECONDS);

        // Then: the group's KIP-848 timeouts at Kafka's defaults, from the default source
        ConfigEntry session = described.get(group).get("consumer.session.timeout.ms");
        assertThat(session.value()).isEqualTo("45000");
        assertThat(session.source()).isEqualTo(ConfigEntry.ConfigSource.DEFAULT_CONFIG);
        assertThat(described.get(group).get("consumer.heartbeat.interval.ms").value()).isEqualTo("5000");
        assertThat(described.get(metrics).entries()).isEmpty();
    }

    @Test
    void namedKeysAndEmptyNamesAreAnsweredAsKafka() throws Exception {
        try (WireClient client = new WireClient(node.port())) {
            DescribeConfigsRequestData request = new DescribeConfigsRequestData();
            request.resources().add(new DescribeConfigsRequestData.DescribeConfigsResource()
                    .setResourceType(ConfigResource.Type.GROUP.id()).setResourceName("g")
                    .setConfigurationKeys(List.of("consumer.heartbeat.interval.ms")));
            request.resources().add(new DescribeConfigsRequestData.DescribeConfigsResource()
                    .setResourceType(ConfigResource.Type.GROUP.id()).setResourceName(""));
            request.resources().add(new DescribeConfigsRequestData.DescribeConfigsResource()
                    .setResourceType(ConfigResource.Type.CLIENT_METRICS.id()).setResourceName(""));
            DescribeConfigsResponseData response = (DescribeConfigsResponseData) client.send(
                    ApiKeys.DESCRIBE_CONFIGS, (short) 4, request);

            assertThat(response.results().get(0).errorCode()).isEqualTo(Errors.NONE.code());
            assertThat(response.results().get(0).configs()).extracting(c -> c.name())
                    .containsExactly("consumer.heartbeat.interval.ms");
            assertThat(response.results().get(1).errorCode()).isEqualTo(Errors.INVALID_REQUEST.code());
            assertThat(response.results().get(1).errorMessage()).isEqualTo("Group name must not be empty");
            assertThat(response.results().get(2).errorCode()).isEqualTo(Errors.INVALID_REQUEST.code());
        }
    }
}
