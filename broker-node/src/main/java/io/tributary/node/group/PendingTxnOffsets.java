package io.tributary.node.group;

import io.tributary.node.group.ClassicGroup.CommittedOffset;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import org.apache.kafka.common.TopicPartition;

/**
 * The offsets that open transactions committed (TxnOffsetCommit) and that are not visible yet: per producer id, per
 * group, per partition, the latest one its transaction wrote here. Kafka's OffsetMetadataManager
 * {@code pendingTransactionalOffsets} and {@code openTransactionsByGroup}. They become committed offsets when the
 * producer's COMMIT marker is replayed, and go on its ABORT ({@link GroupCoordinator#completeTransaction}).
 *
 * <p>Pure bookkeeping, changed only by replay; iteration follows insertion order, so it is deterministic. A
 * producer is kept only while it has a pending offset: an offset tombstone of the partition (OffsetDelete,
 * DeleteGroups) drops the partition's pending offsets of every transaction, as Kafka does. Called only by
 * {@link GroupCoordinator} and {@link OffsetManager}, on the coordinator's thread.
 */
final class PendingTxnOffsets {

    static final Comparator<TopicPartition> PARTITION_ORDER =
            Comparator.comparing(TopicPartition::topic).thenComparing(TopicPartition::partition);

    private final Map<Long, Map<String, Map<TopicPartition, CommittedOffset>>> byProducer = new LinkedHashMap<>();
    /** group -> the producers with a pending offset of it. */
    private final Map<String, Set<Long>> producersByGroup = new LinkedHashMap<>();

    /** Replays a transactional offset commit: it replaces the producer's earlier pending offset of the partition. */
    void add(long producerId, String group, TopicPartition tp, CommittedOffset offset) {
        byProducer.computeIfAbsent(producerId, p -> new LinkedHashMap<>())
                .computeIfAbsent(group, g -> new LinkedHashMap<>()).put(tp, offset);
        producersByGroup.computeIfAbsent(group, g -> new LinkedHashSet<>()).add(producerId);
    }

    /** Replays an offset tombstone: the partition's pending offsets of the group go, in every transaction. */
    void remove(String group, TopicPartition tp) {
        Set<Long> producers = producersByGroup.get(group);
        if (producers == null) {
            return;
        }
        for (Long producerId : Set.copyOf(producers)) {
            Map<String, Map<TopicPartition, CommittedOffset>> groups = byProducer.get(producerId);
            Map<TopicPartition, CommittedOffset> offsets = groups.get(group);
            offsets.remove(tp);
            if (offsets.isEmpty()) {
                forget(producerId, group);
            }
        }
    }

    /** Removes and returns the producer's pending offsets, by group (empty if it has none). */
    Map<String, Map<TopicPartition, CommittedOffset>> complete(long producerId) {
        Map<String, Map<TopicPartition, CommittedOffset>> groups = byProducer.remove(producerId);
        if (groups == null) {
            return Map.of();
        }
        for (String group : groups.keySet()) {
            Set<Long> producers = producersByGroup.get(group);
            producers.remove(producerId);
            if (producers.isEmpty()) {
                producersByGroup.remove(group);
            }
        }
        return groups;
    }

    private void forget(long producerId, String group) {
        Map<String, Map<TopicPartition, CommittedOffset>> groups = byProducer.get(producerId);
        groups.remove(group);
        if (groups.isEmpty()) {
            byProducer.remove(producerId);
        }
        Set<Long> producers = producersByGroup.get(group);
        producers.remove(producerId);
        if (producers.isEmpty()) {
            producersByGroup.remove(group);
        }
    }

    /** Whether an open transaction has a pending offset of the group's partition (Kafka's UNSTABLE_OFFSET_COMMIT). */
    boolean has(String group, TopicPartition tp) {
        Set<Long> producers = producersByGroup.get(group);
        if (producers == null) {
            return false;
        }
        for (Long producerId : producers) {
            if (byProducer.get(producerId).get(group).containsKey(tp)) {
                return true;
            }
        }
        return false;
    }

    /** Whether an open transaction has a pending offset of the group. */
    boolean hasAny(String group) {
        return producersByGroup.containsKey(group);
    }

    /** The group's pending offsets over all open transactions (what the per-group bound counts). */
    int count(String group) {
        Set<Long> producers = producersByGroup.get(group);
        if (producers == null) {
            return 0;
        }
        int count = 0;
        for (Long producerId : producers) {
            count += byProducer.get(producerId).get(group).size();
        }
        return count;
    }

    /** Whether the producer's transaction has a pending offset of the group's partition. */
    boolean has(long producerId, String group, TopicPartition tp) {
        Map<String, Map<TopicPartition, CommittedOffset>> groups = byProducer.get(producerId);
        return groups != null && groups.containsKey(group) && groups.get(group).containsKey(tp);
    }

    /** The group's partitions with a pending offset in some open transaction, in topic then partition order. */
    SortedSet<TopicPartition> partitions(String group) {
        SortedSet<TopicPartition> partitions = new TreeSet<>(PARTITION_ORDER);
        for (Long producerId : producersByGroup.getOrDefault(group, Set.of())) {
            partitions.addAll(byProducer.get(producerId).get(group).keySet());
        }
        return partitions;
    }

    /** A copy of the producer's pending offsets of the group (tests). */
    Map<TopicPartition, CommittedOffset> of(long producerId, String group) {
        Map<String, Map<TopicPartition, CommittedOffset>> groups = byProducer.get(producerId);
        return groups == null || !groups.containsKey(group) ? Map.of() : Map.copyOf(groups.get(group));
    }

    /** A copy of all pending offsets: producer -> group -> partition -> offset (tests: state comparisons). */
    Map<Long, Map<String, Map<TopicPartition, CommittedOffset>>> snapshot() {
        Map<Long, Map<String, Map<TopicPartition, CommittedOffset>>> copy = new LinkedHashMap<>();
        byProducer.forEach((producerId, groups) -> {
            Map<String, Map<TopicPartition, CommittedOffset>> g = new LinkedHashMap<>();
            groups.forEach((group, offsets) -> g.put(group, Map.copyOf(offsets)));
            copy.put(producerId, g);
        });
        return copy;
    }
}
