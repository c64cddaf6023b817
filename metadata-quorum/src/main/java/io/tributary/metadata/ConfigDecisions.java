package io.tributary.metadata;

import io.tributary.proto.metadata.AlterTopicConfigsRequest;
import io.tributary.proto.metadata.BrokerConfigChangeRecord;
import io.tributary.proto.metadata.ConfigChangeRecord;
import io.tributary.proto.metadata.ConfigOperation;
import io.tributary.proto.metadata.ConfigOperationType;
import io.tributary.proto.metadata.MetadataRecord;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Pure decisions on topic configs (IncrementalAlterConfigs, AlterConfigs): image + request -> the ConfigChangeRecord
 * to commit, or why not. As Kafka's {@code ConfigurationControlManager}: the operations apply in order to the topic's
 * current overrides; APPEND and SUBTRACT only on list configs, starting from the config's default when the topic has
 * no override; the result as a whole is validated; an unchanged result commits nothing.
 *
 * <p>Dynamic broker configs (KIP-226; a request with {@code broker} set) follow the same steps on the resource's
 * dynamic configs: a name that is not dynamic here is refused with INVALID_REQUEST as Kafka does ("Cannot update
 * these configs dynamically"), a bad value with INVALID_CONFIG; the result is a BrokerConfigChangeRecord.
 */
public final class ConfigDecisions {

    /** Topic configs of Kafka's LIST type, with Kafka's defaults (what APPEND and SUBTRACT start from). */
    static final Map<String, String> LIST_CONFIG_DEFAULTS = Map.of("cleanup.policy", "delete",
            "log.cleanup.policy", "delete");

    private ConfigDecisions() {}

    public static ControllerResult<Void> alterTopicConfigs(MetadataImage image, AlterTopicConfigsRequest request,
            TopicConfigPolicy policy) {
        if (request.hasBroker()) {
            return alterBrokerConfigs(image, request, policy);
        }
        TopicImage topic = image.topic(request.getTopic());
        if (topic == null) {
            return ControllerResult.error(ControllerError.UNKNOWN_TOPIC_OR_PARTITION,
                    "Topic '" + request.getTopic() + "' does not exist.");
        }
        Map<String, String> next = request.getReplace() ? new TreeMap<>() : new TreeMap<>(topic.configs());
        Set<String> names = new LinkedHashSet<>();
        for (ConfigOperation op : request.getOperationsList()) {
            names.add(op.getName());
            String problem = apply(next, op);
            if (problem != null) {
                return ControllerResult.error(ControllerError.INVALID_CONFIG, problem);
            }
        }
        String problem = policy.problem(Map.copyOf(next), List.copyOf(names));
        if (problem != null) {
            return ControllerResult.error(ControllerError.INVALID_CONFIG, problem);
        }
        ConfigChangeRecord.Builder change = ConfigChangeRecord.newBuilder().setTopicId(Uuids.toProto(topic.topicId()));
        next.forEach((k, v) -> {
            if (!v.equals(topic.configs().get(k))) {
                change.putSet(k, v);
            }
        });
        topic.configs().keySet().stream().filter(k -> !next.containsKey(k)).sorted().forEach(change::addDeleted);
        if (request.getValidateOnly() || (change.getSetCount() == 0 && change.getDeletedCount() == 0)) {
            return ControllerResult.of(List.of(), null);
        }
        return ControllerResult.of(List.of(MetadataRecord.newBuilder().setConfigChange(change).build()), null);
    }

    private static ControllerResult<Void> alterBrokerConfigs(MetadataImage image, AlterTopicConfigsRequest request,
            TopicConfigPolicy policy) {
        String resource = request.getBroker();
        if (!resource.equals(DynamicBrokerConfigs.CLUSTER_DEFAULT) && !resource.matches("[0-9]{1,9}")) {
            return ControllerResult.error(ControllerError.INVALID_REQUEST,
                    "Invalid broker name '" + resource + "': a broker id or empty for the cluster default");
        }
        Map<String, String> current = image.brokerConfigs(resource);
        Map<String, String> next = request.getReplace() ? new TreeMap<>() : new TreeMap<>(current);
        Set<String> names = new LinkedHashSet<>();
        request.getOperationsList().forEach(op -> names.add(op.getName()));
        if (request.getReplace()) {
            names.addAll(current.keySet());
        }
        List<String> readOnly = DynamicBrokerConfigs.notDynamic(names);
        if (!readOnly.isEmpty()) {
            return ControllerResult.error(ControllerError.INVALID_REQUEST,
                    "Cannot update these configs dynamically: " + readOnly);
        }
        for (ConfigOperation op : request.getOperationsList()) {
            String problem = apply(next, op);
            if (problem != null) {
                return ControllerResult.error(ControllerError.INVALID_CONFIG, problem);
            }
        }
        String problem = policy.brokerProblem(Map.copyOf(next));
        if (problem != null) {
            return ControllerResult.error(ControllerError.INVALID_CONFIG, problem);
        }
        BrokerConfigChangeRecord.Builder change = BrokerConfigChangeRecord.newBuilder().setResourceName(resource);
        next.forEach((k, v) -> {
            if (!v.equals(current.get(k))) {
                change.putSet(k, v);
            }
        });
        current.keySet().stream().filter(k -> !next.containsKey(k)).sorted().forEach(change::addDeleted);
        if (request.getValidateOnly() || (change.getSetCount() == 0 && change.getDeletedCount() == 0)) {
            return ControllerResult.of(List.of(), null);
        }
        return ControllerResult.of(List.of(MetadataRecord.newBuilder().setBrokerConfigChange(change).build()), null);
    }

    /** Applies one operation to {@code overrides}; null, or why it cannot apply. */
    private static String apply(Map<String, String> overrides, ConfigOperation op) {
        String name = op.getName();
        switch (op.getType()) {
            case CONFIG_SET -> overrides.put(name, op.getValue());
            case CONFIG_DELETE -> overrides.remove(name);
            case CONFIG_APPEND, CONFIG_SUBTRACT -> {
                String defaultValue = LIST_CONFIG_DEFAULTS.get(name);
                String verb = op.getType() == ConfigOperationType.CONFIG_APPEND ? "APPEND" : "SUBTRACT";
                if (defaultValue == null) {
                    return "Can't " + verb + " to key " + name + " because its type is not LIST.";
                }
                List<String> values = new ArrayList<>(parts(overrides.getOrDefault(name, defaultValue)));
                if (verb.equals("APPEND")) {
                    parts(op.getValue()).stream().filter(v -> !values.contains(v)).forEach(values::add);
                } else {
                    values.removeAll(parts(op.getValue()));
                }
                overrides.put(name, String.join(",", values));
            }
            default -> {
                return "Unknown operation type " + op.getTypeValue();
            }
        }
        return null;
    }

    private static List<String> parts(String list) {
        return Arrays.stream(list.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }
}
