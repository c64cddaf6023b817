package io.tributary.metadata;

import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.proto.metadata.AlterTopicConfigsRequest;
import io.tributary.proto.metadata.ConfigOperation;
import io.tributary.proto.metadata.ConfigOperationType;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** Config changes decided on the controller and replayed into the image, as Kafka's ConfigurationControlManager. */
class ConfigDecisionsTest {

    private static final TopicConfigPolicy NO_NEGATIVE_RETENTION = (overrides, names) ->
            names.contains("bogus") ? "Unknown topic config name: bogus"
                    : overrides.getOrDefault("retention.ms", "0").startsWith("-") ? "retention.ms must be >= 0"
                    : null;

    private final MetadataImage image = Images.replay(Images.live(1), ControllerDecisions.createTopic(
            Images.live(1), "t", 1, 1, Map.of("retention.ms", "1000", "segment.bytes", "4096"), UUID.randomUUID()));

    @Test
    void operationsApplyInOrderAndOnlyTheDifferenceIsCommitted() {
        ControllerResult<Void> result = decide(false, false, op("retention.ms", ConfigOperationType.CONFIG_SET, "5"),
                op("segment.bytes", ConfigOperationType.CONFIG_DELETE, ""),
                op("cleanup.policy", ConfigOperationType.CONFIG_APPEND, "compact"));
        assertThat(result.failed()).isFalse();
        assertThat(result.records()).hasSize(1);
        assertThat(result.records().get(0).getConfigChange().getSetMap())
                .isEqualTo(Map.of("retention.ms", "5", "cleanup.policy", "delete,compact"));
        assertThat(result.records().get(0).getConfigChange().getDeletedList()).containsExactly("segment.bytes");
        MetadataImage next = Images.replay(image, result);
        assertThat(next.topic("t").configs())
                .isEqualTo(Map.of("retention.ms", "5", "cleanup.policy", "delete,compact"));
    }

    @Test
    void subtractRemovesValuesAndAppendAddsNoDuplicates() {
        MetadataImage compacted = Images.replay(image, decide(false, false,
                op("cleanup.policy", ConfigOperationType.CONFIG_SET, "compact,delete")));
        ControllerResult<Void> result = ConfigDecisions.alterTopicConfigs(compacted, request(false, false,
                op("cleanup.policy", ConfigOperationType.CONFIG_SUBTRACT, "delete")), NO_NEGATIVE_RETENTION);
        assertThat(Images.replay(compacted, result).topic("t").configs()).containsEntry("cleanup.policy", "compact");
        assertThat(ConfigDecisions.alterTopicConfigs(compacted, request(false, false,
                op("cleanup.policy", ConfigOperationType.CONFIG_APPEND, "compact")), NO_NEGATIVE_RETENTION)
                .records()).isEmpty();
    }

    @Test
    void replaceMakesTheGivenSetTheOnlyOverrides() {
        ControllerResult<Void> result = decide(true, false, op("max.message.bytes", ConfigOperationType.CONFIG_SET,
                "2048"));
        assertThat(Images.replay(image, result).topic("t").configs()).isEqualTo(Map.of("max.message.bytes", "2048"));
    }

    @Test
    void refusalsAndValidateOnlyCommitNothing() {
        assertThat(decide(false, true, op("retention.ms", ConfigOperationType.CONFIG_SET, "5")).records()).isEmpty();
        assertThat(decide(false, false, op("retention.ms", ConfigOperationType.CONFIG_SET, "-5")).error())
                .isEqualTo(ControllerError.INVALID_CONFIG);
        assertThat(decide(false, false, op("bogus", ConfigOperationType.CONFIG_DELETE, "")).message())
                .contains("bogus");
        ControllerResult<Void> notList = decide(false, false,
                op("retention.ms", ConfigOperationType.CONFIG_APPEND, "5"));
        assertThat(notList.error()).isEqualTo(ControllerError.INVALID_CONFIG);
        assertThat(notList.message()).contains("not LIST");
        assertThat(ConfigDecisions.alterTopicConfigs(image, AlterTopicConfigsRequest.newBuilder().setTopic("nope")
                .build(), NO_NEGATIVE_RETENTION).error()).isEqualTo(ControllerError.UNKNOWN_TOPIC_OR_PARTITION);
    }

    private ControllerResult<Void> decide(boolean replace, boolean validateOnly, ConfigOperation... ops) {
        return ConfigDecisions.alterTopicConfigs(image, request(replace, validateOnly, ops), NO_NEGATIVE_RETENTION);
    }

    private static AlterTopicConfigsRequest request(boolean replace, boolean validateOnly, ConfigOperation... ops) {
        return AlterTopicConfigsRequest.newBuilder().setTopic("t").setReplace(replace).setValidateOnly(validateOnly)
                .addAllOperations(List.of(ops)).build();
    }

    private static ConfigOperation op(String name, ConfigOperationType type, String value) {
        return ConfigOperation.newBuilder().setName(name).setType(type).setValue(value).build();
    }
}
