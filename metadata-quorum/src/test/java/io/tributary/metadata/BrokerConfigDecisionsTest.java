package io.tributary.metadata;

import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.proto.metadata.AlterTopicConfigsRequest;
import io.tributary.proto.metadata.ConfigOperation;
import io.tributary.proto.metadata.ConfigOperationType;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Dynamic broker configs (KIP-226) decided on the controller, replayed into the image, and combined with the
 * precedence Kafka gives them: topic override > this broker's dynamic > cluster-wide dynamic default (the node's
 * file and defaults lie below, on the node).
 */
class BrokerConfigDecisionsTest {

    /** A stand-in for the node's value rules: retention must not be below -1. */
    private static final TopicConfigPolicy POLICY = new TopicConfigPolicy() {
        @Override
        public String problem(Map<String, String> overrides, java.util.Collection<String> names) {
            return null;
        }

        @Override
        public String brokerProblem(Map<String, String> brokerConfigs) {
            return Long.parseLong(brokerConfigs.getOrDefault("log.retention.ms", "0")) < -1
                    ? "Invalid value for configuration log.retention.ms" : null;
        }
    };

    private final MetadataImage image = Images.live(1, 2);

    @Test
    void clusterDefaultAndPerBrokerValuesCombineWithThePerBrokerValueFirst() {
        MetadataImage withDefault = Images.replay(image, decide("", false, false,
                set("log.retention.ms", "3600000"), set("message.max.bytes", "2000")));
        MetadataImage withBroker = Images.replay(withDefault, decide("1", false, false,
                set("log.retention.ms", "7200000")));

        assertThat(withBroker.brokerConfigs("")).isEqualTo(Map.of("log.retention.ms", "3600000",
                "message.max.bytes", "2000"));
        assertThat(withBroker.brokerConfigs("1")).isEqualTo(Map.of("log.retention.ms", "7200000"));
        // Broker 1 takes its own retention and the cluster's message size; broker 2 only the cluster's
        assertThat(DynamicBrokerConfigs.topicDefaults(withBroker, 1)).isEqualTo(Map.of(
                "retention.ms", "7200000", "max.message.bytes", "2000"));
        assertThat(DynamicBrokerConfigs.topicDefaults(withBroker, 2)).isEqualTo(Map.of(
                "retention.ms", "3600000", "max.message.bytes", "2000"));
        // The node-only configs are no topic defaults
        MetadataImage withThreads = Images.replay(withBroker, decide("", false, false,
                set("log.cleaner.threads", "2")));
        assertThat(DynamicBrokerConfigs.topicDefaults(withThreads, 2)).doesNotContainKey("log.cleaner.threads");
        assertThat(DynamicBrokerConfigs.effective(withThreads, 2)).containsEntry("log.cleaner.threads", "2");
        // And all of it survives a snapshot
        assertThat(MetadataImage.fromSnapshot(withThreads.toSnapshot())).isEqualTo(withThreads);
    }

    @Test
    void deleteRemovesAValueAndAnEmptyResourceDisappears() {
        MetadataImage set = Images.replay(image, decide("2", false, false, set("log.segment.bytes", "1048576")));
        ControllerResult<Void> deleted = decide(set, "2", false, false, op("log.segment.bytes",
                ConfigOperationType.CONFIG_DELETE, ""));
        assertThat(deleted.records().get(0).getBrokerConfigChange().getDeletedList())
                .containsExactly("log.segment.bytes");
        MetadataImage after = Images.replay(set, deleted);
        assertThat(after.brokerConfigs()).doesNotContainKey("2");
        // Deleting what is not set commits nothing
        assertThat(decide(after, "2", false, false, op("log.segment.bytes", ConfigOperationType.CONFIG_DELETE, ""))
                .records()).isEmpty();
    }

    @Test
    void appendWorksOnTheListConfigAndReplaceMakesTheGivenSetTheOnlyOne() {
        MetadataImage appended = Images.replay(image, decide("", false, false,
                op("log.cleanup.policy", ConfigOperationType.CONFIG_APPEND, "compact"),
                set("log.retention.bytes", "1000")));
        assertThat(appended.brokerConfigs("")).containsEntry("log.cleanup.policy", "delete,compact");
        MetadataImage replaced = Images.replay(appended, decide(appended, "", true, false,
                set("log.roll.ms", "60000")));
        assertThat(replaced.brokerConfigs("")).isEqualTo(Map.of("log.roll.ms", "60000"));
    }

    @Test
    void readOnlyNamesBadValuesBadNamesAndValidateOnlyCommitNothing() {
        ControllerResult<Void> readOnly = decide("1", false, false, set("num.io.threads", "8"),
                set("log.retention.ms", "1"));
        assertThat(readOnly.error()).isEqualTo(ControllerError.INVALID_REQUEST);
        assertThat(readOnly.message()).isEqualTo("Cannot update these configs dynamically: [num.io.threads]");

        ControllerResult<Void> bad = decide("1", false, false, set("log.retention.ms", "-9"));
        assertThat(bad.error()).isEqualTo(ControllerError.INVALID_CONFIG);
        assertThat(bad.message()).contains("log.retention.ms");

        assertThat(decide("broker-1", false, false, set("log.retention.ms", "1")).error())
                .isEqualTo(ControllerError.INVALID_REQUEST);
        assertThat(decide("1", false, true, set("log.retention.ms", "1")).records()).isEmpty();
        assertThat(decide("1", false, true, set("log.retention.ms", "1")).failed()).isFalse();
    }

    @Test
    void topicConfigChangesAreUnaffected() {
        // A request without a broker resource is a topic's, as before
        ControllerResult<Void> result = ConfigDecisions.alterTopicConfigs(image, AlterTopicConfigsRequest
                .newBuilder().setTopic("missing").addOperations(set("retention.ms", "1")).build(), POLICY);
        assertThat(result.error()).isEqualTo(ControllerError.UNKNOWN_TOPIC_OR_PARTITION);
    }

    private ControllerResult<Void> decide(String broker, boolean replace, boolean validateOnly,
            ConfigOperation... ops) {
        return decide(image, broker, replace, validateOnly, ops);
    }

    private static ControllerResult<Void> decide(MetadataImage on, String broker, boolean replace,
            boolean validateOnly, ConfigOperation... ops) {
        return ConfigDecisions.alterTopicConfigs(on, AlterTopicConfigsRequest.newBuilder().setBroker(broker)
                .setReplace(replace).setValidateOnly(validateOnly).addAllOperations(List.of(ops)).build(), POLICY);
    }

    private static ConfigOperation set(String name, String value) {
        return op(name, ConfigOperationType.CONFIG_SET, value);
    }

    private static ConfigOperation op(String name, ConfigOperationType type, String value) {
        return ConfigOperation.newBuilder().setName(name).setType(type).setValue(value).build();
    }
}
