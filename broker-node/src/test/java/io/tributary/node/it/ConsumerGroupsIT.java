package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Consumer groups on a 3-node cluster with real kafka-clients members (classic protocol): partitions split among
 * members and handed over on a close, members resuming at committed offsets, the cooperative-sticky assignor's
 * incremental rebalance, and Kafka's error codes for commits and heartbeats a coordinator must refuse.
 *
 * <p>Every test uses its own topic (6 partitions, RF 3) and group on one shared cluster.
 */
class ConsumerGroupsIT {
    private static final int PARTITIONS = 6;
    private static final Duration GROUP_DEADLINE = Duration.ofSeconds(60);
    private static final Duration POLL = Duration.ofMillis(100);

    @RegisterExtension
    static final ClusterProcesses cluster = new ClusterProcesses(3, 3, Map.of(
            "group.initial.rebalance.delay.ms", "0",
            "offsets.topic.num.partitions", "10"));

    @BeforeEach
    void wholeCluster() {
        cluster.restartDeadNodes();
        cluster.awaitHealthy();
    }

    @Test
    void twoMembersSplitThePartitionsAndTheSurvivorOwnsAllAfterOneCloses() {
        // Given
        String topic = createTopic("split");
        String group = "split-group";

        try (KafkaConsumer<String, String> first = GroupConsumers.member(cluster.bootstrap(), group,
                GroupConsumers.RANGE);
                KafkaConsumer<String, String> second = GroupConsumers.member(cluster.bootstrap(), group,
                        GroupConsumers.RANGE)) {
            // When
            first.subscribe(List.of(topic));
            second.subscribe(List.of(topic));
            await("two members each own part of " + topic).atMost(GROUP_DEADLINE).pollInSameThread()
                    .pollInterval(Duration.ZERO)
                    .until(() -> {
                        first.poll(POLL);
                        second.poll(POLL);
                        return !first.assignment().isEmpty() && !second.assignment().isEmpty()
                                && union(first.assignment(), second.assignment()).size() == PARTITIONS
                                && first.assignment().size() + second.assignment().size() == PARTITIONS;
                    });

            // Then
            assertThat(first.assignment()).doesNotContainAnyElementsOf(second.assignment());
            assertThat(union(first.assignment(), second.assignment()))
                    .containsExactlyInAnyOrderElementsOf(GroupConsumers.partitions(topic, PARTITIONS));

            // When
            second.close();

            // Then
            await("the survivor owns all " + PARTITIONS + " partitions within the session timeout")
                    .atMost(GroupConsumers.SESSION_TIMEOUT).pollInSameThread().pollInterval(Duration.ZERO)
                    .until(() -> {
                        first.poll(POLL);
                        return first.assignment().size() == PARTITIONS;
                    });
            assertThat(first.assignment())
                    .containsExactlyInAnyOrderElementsOf(GroupConsumers.partitions(topic, PARTITIONS));
        }
    }

    @Test
    void newMemberResumesRightAfterTheOffsetsTheLastOneCommitted() {
        // Given: 100 records in every partition; a member reads them all but commits only offset 50 of each
        String topic = createTopic("resume");
        String group = "resume-group";
        GroupConsumers.produceNumbered(cluster.bootstrap(), topic, PARTITIONS, 100);
        Map<TopicPartition, OffsetAndMetadata> half = new HashMap<>();
        GroupConsumers.partitions(topic, PARTITIONS).forEach(tp -> half.put(tp, new OffsetAndMetadata(50)));
        try (KafkaConsumer<String, String> leaving = GroupConsumers.member(cluster.bootstrap(), group,
                GroupConsumers.RANGE)) {
            leaving.subscribe(List.of(topic));
            List<ConsumerRecord<String, String>> read = pollUntil(leaving, PARTITIONS * 100);
            assertThat(read).hasSize(PARTITIONS * 100);
            leaving.commitSync(half);
        }
        assertThat(GroupConsumers.committedOffsets(cluster.bootstrap(), group))
                .as("what the group committed").containsExactlyInAnyOrderEntriesOf(offsets(half));

        // When: a new member joins the group
        List<ConsumerRecord<String, String>> resumed;
        try (KafkaConsumer<String, String> next = GroupConsumers.member(cluster.bootstrap(), group,
                GroupConsumers.RANGE)) {
            next.subscribe(List.of(topic));
            resumed = pollUntil(next, PARTITIONS * 50);
        }

        // Then: it reads exactly offsets 50..99 of every partition, nothing below the committed offset
        assertThat(resumed).hasSize(PARTITIONS * 50);
        for (int partition = 0; partition < PARTITIONS; partition++) {
            int p = partition;
            List<Long> offsets = resumed.stream().filter(r -> r.partition() == p).map(ConsumerRecord::offset).toList();
            assertThat(offsets).as("offsets read from partition %d", p)
                    .containsExactlyElementsOf(LongStream.range(50, 100).boxed().toList());
            assertThat(resumed.stream().filter(r -> r.partition() == p).findFirst().orElseThrow().value())
                    .isEqualTo(p + "-50");
        }
    }

    @Test
    void cooperativeStickyRevokesOnlyThePartitionsThatMove() {
        // Given: one cooperative-sticky member owns all six partitions
        String topic = createTopic("coop");
        String group = "coop-group";
        RecordingListener listener = new RecordingListener();
        try (KafkaConsumer<String, String> first = GroupConsumers.member(cluster.bootstrap(), group,
                GroupConsumers.COOPERATIVE_STICKY);
                KafkaConsumer<String, String> second = GroupConsumers.member(cluster.bootstrap(), group,
                        GroupConsumers.COOPERATIVE_STICKY)) {
            first.subscribe(List.of(topic), listener);
            await("the first member owns all of " + topic).atMost(GROUP_DEADLINE).pollInSameThread()
                    .pollInterval(Duration.ZERO)
                    .until(() -> {
                        first.poll(POLL);
                        return first.assignment().size() == PARTITIONS;
                    });
            List<Set<TopicPartition>> firstAssignments = new ArrayList<>();

            // When: a second member joins
            second.subscribe(List.of(topic));
            await("the two members balanced 3 and 3").atMost(GROUP_DEADLINE).pollInSameThread()
                    .pollInterval(Duration.ZERO)
                    .until(() -> {
                        first.poll(POLL);
                        firstAssignments.add(Set.copyOf(first.assignment()));
                        second.poll(POLL);
                        return first.assignment().size() == PARTITIONS / 2
                                && second.assignment().size() == PARTITIONS / 2
                                && union(first.assignment(), second.assignment()).size() == PARTITIONS;
                    });
            Set<TopicPartition> kept = Set.copyOf(first.assignment());
            Set<TopicPartition> moved = Set.copyOf(second.assignment());
            listener.stopRecording(); // close() revokes everything; that is not a rebalance

            // Then: the first member gave up exactly the moved partitions, never all, and kept the rest throughout
            assertThat(listener.lost).as("partitions lost").isEmpty();
            assertThat(listener.revoked).as("each onPartitionsRevoked call").isNotEmpty()
                    .allSatisfy(revoked -> assertThat(revoked).isSubsetOf(moved).hasSizeLessThan(PARTITIONS));
            assertThat(listener.revoked.stream().flatMap(Set::stream).toList())
                    .as("all partitions the first member gave up").containsExactlyInAnyOrderElementsOf(moved);
            assertThat(firstAssignments).as("the first member's assignment after every poll")
                    .allSatisfy(assignment -> assertThat(assignment).containsAll(kept));
        }
    }

    @Test
    void refusesUnknownMembersStaleGenerationsAndMissingTopicsWhileTheGroupCarriesOn() {
        // Given: two members consuming a topic
        String topic = createTopic("bad-input");
        String group = "bad-input-group";
        try (KafkaConsumer<String, String> first = GroupConsumers.member(cluster.bootstrap(), group,
                GroupConsumers.RANGE);
                KafkaConsumer<String, String> second = GroupConsumers.member(cluster.bootstrap(), group,
                        GroupConsumers.RANGE)) {
            first.subscribe(List.of(topic));
            second.subscribe(List.of(topic));
            await("two members share " + topic).atMost(GROUP_DEADLINE).pollInSameThread()
                    .pollInterval(Duration.ZERO)
                    .until(() -> {
                        first.poll(POLL);
                        second.poll(POLL);
                        return !first.assignment().isEmpty() && !second.assignment().isEmpty()
                                && first.assignment().size() + second.assignment().size() == PARTITIONS;
                    });
            GroupConsumers.produceNumbered(cluster.bootstrap(), topic, PARTITIONS, 10);
            List<ConsumerRecord<String, String>> read = new ArrayList<>();
            await("two members read the first " + PARTITIONS * 10 + " records").atMost(GROUP_DEADLINE)
                    .pollInSameThread().pollInterval(Duration.ZERO)
                    .until(() -> {
                        first.poll(POLL).forEach(read::add);
                        second.poll(POLL).forEach(read::add);
                        return read.size() >= PARTITIONS * 10;
                    });
            first.commitSync();
            second.commitSync();
            ConsumerGroupMetadata member = first.groupMetadata();
            int generation = member.generationId();
            Map<TopicPartition, Long> committedBefore = GroupConsumers.committedOffsets(cluster.bootstrap(), group);
            int coordinator = GroupRequests.awaitCoordinator(cluster.port(1), group, GROUP_DEADLINE);
            int port = cluster.port(coordinator);
            TopicPartition partition0 = new TopicPartition(topic, 0);

            // When / Then
            assertThat(GroupRequests.commitOffset(port, group, "no-such-member", generation, partition0, 1))
                    .as("commit from an unknown member").isEqualTo(Errors.UNKNOWN_MEMBER_ID);
            assertThat(GroupRequests.heartbeat(port, group, "no-such-member", generation))
                    .as("heartbeat from an unknown member").isEqualTo(Errors.UNKNOWN_MEMBER_ID);
            assertThat(GroupRequests.commitOffset(port, group, member.memberId(), generation - 1, partition0, 1))
                    .as("commit from a stale generation").isEqualTo(Errors.ILLEGAL_GENERATION);
            assertThat(GroupRequests.heartbeat(port, group, member.memberId(), generation - 1))
                    .as("heartbeat from a stale generation").isEqualTo(Errors.ILLEGAL_GENERATION);
            assertThat(GroupRequests.commitOffset(port, group, member.memberId(), generation,
                    new TopicPartition("no-such-topic", 0), 1))
                    .as("commit to a missing topic").isEqualTo(Errors.UNKNOWN_TOPIC_OR_PARTITION);
            assertThat(GroupRequests.commitOffset(port, group, member.memberId(), generation,
                    new TopicPartition(topic, PARTITIONS + 3), 1))
                    .as("commit to a missing partition").isEqualTo(Errors.UNKNOWN_TOPIC_OR_PARTITION);

            // Then: none of it moved a committed offset, and both members carry on in the same generation
            assertThat(GroupConsumers.committedOffsets(cluster.bootstrap(), group))
                    .as("committed offsets after the refused requests").isEqualTo(committedBefore);
            GroupConsumers.produceNumbered(cluster.bootstrap(), topic, PARTITIONS, 5);
            List<ConsumerRecord<String, String>> more = new ArrayList<>();
            await("both members read the next " + PARTITIONS * 5 + " records").atMost(GROUP_DEADLINE)
                    .pollInSameThread().pollInterval(Duration.ZERO)
                    .until(() -> {
                        first.poll(POLL).forEach(more::add);
                        second.poll(POLL).forEach(more::add);
                        return more.size() >= PARTITIONS * 5;
                    });
            assertThat(more).extracting(ConsumerRecord::offset).allSatisfy(offset -> assertThat(offset)
                    .isBetween(10L, 14L));
            first.commitSync();
            second.commitSync();
            assertThat(first.groupMetadata().generationId()).as("generation after the refused requests")
                    .isEqualTo(generation);
            assertThat(GroupConsumers.committedOffsets(cluster.bootstrap(), group).values())
                    .as("committed offsets after the members carried on").hasSize(PARTITIONS)
                    .allSatisfy(offset -> assertThat(offset).isEqualTo(15L));
            ConsumerGroupDescription description = describe(group);
            assertThat(description.groupState()).isEqualTo(GroupState.STABLE);
            assertThat(description.members()).extracting(MemberDescription::consumerId)
                    .containsExactlyInAnyOrder(member.memberId(), second.groupMetadata().memberId());
        }
    }

    private static String createTopic(String name) {
        Clients.createTopic(cluster.bootstrap(), name, PARTITIONS, 3);
        cluster.awaitAgreedMetadata(name);
        return name;
    }

    private static Set<TopicPartition> union(Collection<TopicPartition> a, Collection<TopicPartition> b) {
        Set<TopicPartition> union = new HashSet<>(a);
        union.addAll(b);
        return union;
    }

    private static Map<TopicPartition, Long> offsets(Map<TopicPartition, OffsetAndMetadata> committed) {
        Map<TopicPartition, Long> offsets = new HashMap<>();
        committed.forEach((tp, offset) -> offsets.put(tp, offset.offset()));
        return offsets;
    }

    /** Polls {@code consumer} until it returned {@code expected} records (or the deadline), then one more time. */
    private static List<ConsumerRecord<String, String>> pollUntil(KafkaConsumer<String, String> consumer,
            int expected) {
        List<ConsumerRecord<String, String>> records = new ArrayList<>();
        await("reading " + expected + " records").atMost(GROUP_DEADLINE).pollInSameThread()
                .pollInterval(Duration.ZERO)
                .until(() -> {
                    consumer.poll(POLL).forEach(records::add);
                    return records.size() >= expected;
                });
        consumer.poll(POLL).forEach(records::add); // anything beyond `expected` is a bug the caller's asserts catch
        return records;
    }

    private static ConsumerGroupDescription describe(String group) {
        try (Admin admin = Clients.admin(cluster.bootstrap())) {
            return admin.describeConsumerGroups(List.of(group)).describedGroups().get(group)
                    .get(Clients.CLIENT_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            throw new AssertionError("cannot describe group " + group, e);
        }
    }

    /** Records what a cooperative member is told to give up, until {@link #stopRecording()}. */
    private static final class RecordingListener implements ConsumerRebalanceListener {
        final List<Set<TopicPartition>> revoked = new ArrayList<>();
        final List<Set<TopicPartition>> lost = new ArrayList<>();
        private boolean recording = true;

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            if (recording && !partitions.isEmpty()) {
                revoked.add(Set.copyOf(partitions));
            }
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {}

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            if (recording && !partitions.isEmpty()) {
                lost.add(Set.copyOf(partitions));
            }
        }

        void stopRecording() {
            recording = false;
        }
    }
}
