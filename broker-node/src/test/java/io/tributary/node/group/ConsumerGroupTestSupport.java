package io.tributary.node.group;

import io.tributary.node.group.ConsumerGroupRecord.TopicMetadata;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.ConsumerGroupHeartbeatRequestData;
import org.apache.kafka.common.message.ConsumerGroupHeartbeatResponseData;

/** Helpers for KIP-848 consumer group tests: a cluster of topics, requests, a log of appended records. */
final class ConsumerGroupTestSupport {

    static final short HEARTBEAT_V = 1;
    static final int REBALANCE_TIMEOUT_MS = 60_000;

    private ConsumerGroupTestSupport() {
    }

    /** Topics by name, with deterministic ids; partitions can be added. */
    static final class Topics implements ClusterTopics {
        final Map<String, TopicMetadata> byName = new HashMap<>();

        Topics add(String name, int partitions) {
            Uuid id = byName.containsKey(name) ? byName.get(name).topicId()
                    : new Uuid(name.hashCode() + 1L, 7L * name.length() + 1);
            byName.put(name, new TopicMetadata(id, name, partitions));
            return this;
        }

        Uuid id(String name) {
            return byName.get(name).topicId();
        }

        @Override
        public TopicMetadata byName(String name) {
            return byName.get(name);
        }

        @Override
        public java.util.Set<String> names() {
            return java.util.Set.copyOf(byName.keySet()); // a new object per call: as a new metadata image
        }

        @Override
        public TopicMetadata byId(Uuid id) {
            return byName.values().stream().filter(t -> t.topicId().equals(id)).findFirst().orElse(null);
        }
    }

    static GroupCoordinator coordinator() {
        return coordinator(ConsumerGroupConfig.defaults());
    }

    static GroupCoordinator coordinator(ConsumerGroupConfig config) {
        AtomicInteger ids = new AtomicInteger();
        return new GroupCoordinator(GroupCoordinatorConfig.defaults().withInitialRebalanceDelayMs(0), config,
                () -> "id-" + ids.incrementAndGet());
    }

    static ConsumerGroupHeartbeatRequestData join(String group, String memberId, String... topics) {
        return new ConsumerGroupHeartbeatRequestData().setGroupId(group).setMemberId(memberId).setMemberEpoch(0)
                .setRebalanceTimeoutMs(REBALANCE_TIMEOUT_MS).setSubscribedTopicNames(List.of(topics))
                .setTopicPartitions(new ArrayList<>());
    }

    /** A heartbeat listing what the member owns ({@code owned} null: a light heartbeat without it). */
    static ConsumerGroupHeartbeatRequestData heartbeat(String group, String memberId, int epoch,
            Map<Uuid, ? extends java.util.Set<Integer>> owned) {
        ConsumerGroupHeartbeatRequestData req = new ConsumerGroupHeartbeatRequestData().setGroupId(group)
                .setMemberId(memberId).setMemberEpoch(epoch).setRebalanceTimeoutMs(-1);
        if (owned != null) {
            List<ConsumerGroupHeartbeatRequestData.TopicPartitions> list = new ArrayList<>();
            owned.forEach((id, ps) -> list.add(new ConsumerGroupHeartbeatRequestData.TopicPartitions().setTopicId(id)
                    .setPartitions(new ArrayList<>(new TreeSet<>(ps)))));
            req.setTopicPartitions(list);
        }
        return req;
    }

    /** The response's assignment; empty when it has none (unchanged since the last one, Kafka's light answer). */
    static SortedMap<Uuid, SortedSet<Integer>> assigned(ConsumerGroupHeartbeatResponseData response) {
        SortedMap<Uuid, SortedSet<Integer>> out = new TreeMap<>();
        if (response.assignment() == null) {
            return out;
        }
        response.assignment().topicPartitions().forEach(tp -> out.put(tp.topicId(), new TreeSet<>(tp.partitions())));
        return out;
    }

    static int count(Map<Uuid, ? extends java.util.Set<Integer>> partitions) {
        return partitions.values().stream().mapToInt(java.util.Set::size).sum();
    }

    /** A {@code __consumer_offsets} partition: every appended record through the codec, replayed by a successor. */
    static final class Log {
        final List<GroupLogEntry> entries = new ArrayList<>();

        void append(List<GroupRecord> records) {
            for (GroupRecord r : records) {
                GroupRecordCodec.Encoded e = GroupRecordCodec.encode(r);
                entries.add(new GroupLogEntry.Data(entries.size(), GroupRecordCodec.decode(e.key(), e.value())));
            }
        }

        GroupCoordinator load(ConsumerGroupConfig config, long nowMs) {
            GroupCoordinator c = coordinator(config);
            c.load(entries, nowMs);
            return c;
        }
    }
}
