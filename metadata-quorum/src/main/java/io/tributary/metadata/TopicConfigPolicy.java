package io.tributary.metadata;

import java.util.Collection;
import java.util.Map;

/**
 * The node's rules for topic config overrides, given to the controller (which knows no log): the same rules
 * CreateTopics applies, as Kafka's controller is given its {@code ConfigurationValidator}. Must be pure and
 * thread-safe; called on the controller thread. It also checks the values of dynamic broker configs
 * ({@link DynamicBrokerConfigs}), most of which are the defaults topics inherit.
 */
@FunctionalInterface
public interface TopicConfigPolicy {

    /** Accepts every override: for tests of the controller alone. */
    TopicConfigPolicy ACCEPT_ALL = (overrides, names) -> null;

    /**
     * Null if a topic may have exactly {@code overrides}, else the reason it may not (INVALID_CONFIG).
     *
     * @param names every config name the change touches, deleted ones included (each must be a known name)
     */
    String problem(Map<String, String> overrides, Collection<String> names);

    /**
     * Null if a broker (or the cluster default) may have exactly these dynamic configs (Kafka's broker names, every
     * one of them dynamic), else the reason it may not (INVALID_CONFIG). Accepts all unless the node says otherwise.
     */
    default String brokerProblem(Map<String, String> brokerConfigs) {
        return null;
    }
}
