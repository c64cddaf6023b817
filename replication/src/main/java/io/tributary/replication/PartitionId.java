package io.tributary.replication;

/** A partition of a topic, by topic name. */
public record PartitionId(String topic, int partition) {

    /** The name of this partition's log folder: {@code <topic>-<partition>}, as Kafka names it. */
    public String dirName() {
        return topic + "-" + partition;
    }

    @Override
    public String toString() {
        return dirName();
    }
}
