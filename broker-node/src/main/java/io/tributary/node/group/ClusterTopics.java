package io.tributary.node.group;

import io.tributary.node.group.ConsumerGroupRecord.TopicMetadata;
import org.apache.kafka.common.Uuid;

/**
 * The cluster's topics as a consumer group coordinator sees them at a heartbeat: ids and partition counts. The driver
 * passes a view of its latest metadata image; tests pass a map.
 */
public interface ClusterTopics {

    /** The topic named {@code name}, null if it does not exist. */
    TopicMetadata byName(String name);

    /** The topic with id {@code id}, null if it does not exist. */
    TopicMetadata byId(Uuid id);

    /**
     * Every topic's name (regex subscriptions are matched against them). The same object for the same cluster
     * metadata: a coordinator keeps regex matches until it changes.
     */
    java.util.Set<String> names();
}
