package io.tributary.metadata;

import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * One topic in the committed metadata. Immutable.
 *
 * @param partitions indexed by partition number
 * @param configs topic-level config overrides, with Kafka's config names (defaults are the broker's)
 */
public record TopicImage(String name, UUID topicId, List<PartitionImage> partitions, Map<String, String> configs) {

    public TopicImage {
        partitions = List.copyOf(partitions);
        configs = Map.copyOf(configs);
        for (int i = 0; i < partitions.size(); i++) {
            if (partitions.get(i).partition() != i) {
                throw new IllegalArgumentException("partition " + i + " of " + name + " is numbered "
                        + partitions.get(i).partition());
            }
        }
    }

    public PartitionImage partition(int partition) {
        return partition >= 0 && partition < partitions.size() ? partitions.get(partition) : null;
    }
}
