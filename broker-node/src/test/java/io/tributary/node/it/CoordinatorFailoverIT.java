package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * SIGKILL of a group's coordinator in the middle of consumption, on a 3-node cluster with the default 50
 * {@code __consumer_offsets} partitions: the member finds the new coordinator (another replica of the group's
 * offsets partition), commits again, and every committed offset survives: none is lost or rolled back, and no
 * record below a committed offset is delivered again, not even once the killed node is back; a new member starts
 * exactly at the committed offsets.
 */
class CoordinatorFailoverIT {
    private static final String TOPIC = "failover-orders";
    private static final int PARTITIONS = 6;
    private static final int PER_PARTITION = 400;
    private static final Duration POLL = Duration.ofMillis(100);
    /** Fencing the dead node, electing new leaders and reloading the offsets partition; generous on 2 cores. */
    private static final Duration RECOVERY_DEADLINE = Duration.ofSeconds(120);

    @RegisterExtension
    static final ClusterProcesses cluster = new ClusterProcesses(3, 3, Map.of("group.initial.rebalance.delay.ms", "0"));

    @Test
    void groupContinuesFromItsCommittedOffsetsAfterTheCoordinatorIsKilled() {
        // Given: a group whose coordinator is not the active controller (so the kill costs no controller election),
        // and a member that commits after every poll and has read about a third of the topic
        Clients.createTopic(cluster.bootstrap(), TOPIC, PARTITIONS, 3);
        cluster.awaitAgreedMetadata(TOPIC);
        GroupConsumers.produceNumbered(cluster.bootstrap(), TOPIC, PARTITIONS, PER_PARTITION);
        int controller = cluster.controllerId();
        String group = null;
        int coordinator = -1;
        for (int i = 0; coordinator < 0 || coordinator == controller; i++) {
            group = "failover-group-" + i;
            coordinator = GroupRequests.awaitCoordinator(cluster.port(controller), group, RECOVERY_DEADLINE);
        }
        System.out.printf("group %s: coordinator node %d, controller node %d%n", group, coordinator, controller);

        Map<TopicPartition, Long> committedBeforeKill;
        Map<TopicPartition, Long> committedAfterRecovery;
        Set<String> seen = new HashSet<>();
        List<ConsumerRecord<String, String>> afterKill = new ArrayList<>();
        try (KafkaConsumer<String, String> member = GroupConsumers.member(cluster.bootstrap(), group,
                GroupConsumers.RANGE, Map.of(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 25))) {
            member.subscribe(List.of(TOPIC));
            List<ConsumerRecord<String, String>> beforeKill = new ArrayList<>();
            await("the member reads and commits a third of " + TOPIC).atMost(RECOVERY_DEADLINE).pollInSameThread()
                    .pollInterval(Duration.ZERO)
                    .until(() -> {
                        List<ConsumerRecord<String, String>> batch = pollAndCommit(member);
                        beforeKill.addAll(batch);
                        return beforeKill.size() >= PARTITIONS * PER_PARTITION / 3;
                    });
            beforeKill.forEach(record -> seen.add(record.value()));
            committedBeforeKill = GroupConsumers.committedOffsets(cluster.bootstrap(), group);
            assertThat(committedBeforeKill).as("offsets committed before the kill").isNotEmpty();

            // When: the coordinator dies mid-consumption
            cluster.kill(coordinator);

            // Then: the group finds a new coordinator and the member keeps reading and committing
            int dead = coordinator;
            int survivor = cluster.liveIds().iterator().next();
            int newCoordinator = awaitCoordinatorOtherThan(survivor, group, dead);
            System.out.printf("group %s: new coordinator node %d%n", group, newCoordinator);
            boolean[] committedSinceKill = new boolean[1];
            await("the member reads another third and commits through the new coordinator")
                    .atMost(RECOVERY_DEADLINE).pollInSameThread().pollInterval(Duration.ZERO)
                    .until(() -> {
                        member.poll(POLL).forEach(afterKill::add);
                        committedSinceKill[0] |= tryCommit(member);
                        return committedSinceKill[0] && afterKill.size() >= PARTITIONS * PER_PARTITION / 3;
                    });
            afterKill.forEach(record -> seen.add(record.value()));
            committedAfterRecovery = GroupConsumers.committedOffsets(cluster.bootstrap(), group);
        }

        // Then: no committed offset was lost or went back, and nothing below one was delivered again
        assertNoneBelow(afterKill, committedBeforeKill, "delivered to the member after the kill");
        committedBeforeKill.forEach((partition, offset) -> assertThat(committedAfterRecovery.get(partition))
                .as("committed offset of %s after recovery (was %d before the kill)", partition, offset)
                .isNotNull().isGreaterThanOrEqualTo(offset));

        // When: the killed node comes back (it was a replica of the group's offsets partition)
        cluster.restartDeadNodes();
        cluster.awaitHealthy();
        Map<TopicPartition, Long> committedAfterRestart = GroupConsumers.committedOffsets(cluster.bootstrap(), group);

        // Then: its stale copy of the group brings no older offset back
        assertThat(committedAfterRestart).as("committed offsets once the killed node is back")
                .isEqualTo(committedAfterRecovery);

        // When: a new member takes over the group
        List<ConsumerRecord<String, String>> resumed = new ArrayList<>();
        int remaining = (int) committedAfterRecovery.values().stream()
                .mapToLong(offset -> PER_PARTITION - offset).sum()
                + (PARTITIONS - committedAfterRecovery.size()) * PER_PARTITION;
        try (KafkaConsumer<String, String> next = GroupConsumers.member(cluster.bootstrap(), group,
                GroupConsumers.RANGE)) {
            next.subscribe(List.of(TOPIC));
            await("a new member reads the remaining " + remaining + " records").atMost(RECOVERY_DEADLINE)
                    .pollInSameThread().pollInterval(Duration.ZERO)
                    .until(() -> {
                        next.poll(POLL).forEach(resumed::add);
                        return resumed.size() >= remaining;
                    });
        }

        // Then: it starts exactly at each committed offset, and together the members read every record
        assertNoneBelow(resumed, committedAfterRecovery, "delivered to the new member");
        Map<Integer, Long> firstOffsets = new TreeMap<>();
        resumed.forEach(record -> firstOffsets.putIfAbsent(record.partition(), record.offset()));
        committedAfterRecovery.forEach((partition, offset) -> {
            if (offset < PER_PARTITION) {
                assertThat(firstOffsets.get(partition.partition())).as("first offset the new member read of %s",
                        partition).isEqualTo(offset);
            }
        });
        resumed.forEach(record -> seen.add(record.value()));
        Set<String> produced = IntStream.range(0, PARTITIONS).boxed()
                .flatMap(p -> IntStream.range(0, PER_PARTITION).mapToObj(i -> p + "-" + i))
                .collect(Collectors.toSet());
        assertThat(seen).as("every record read by some member").containsExactlyInAnyOrderElementsOf(produced);
    }

    /** Polls once and commits what the poll returned; a failed commit is retried by the next call. */
    private static List<ConsumerRecord<String, String>> pollAndCommit(KafkaConsumer<String, String> member) {
        List<ConsumerRecord<String, String>> batch = new ArrayList<>();
        member.poll(POLL).forEach(batch::add);
        if (!batch.isEmpty()) {
            member.commitSync();
        }
        return batch;
    }

    /** commitSync of the current positions; false if it failed (coordinator moving, rebalance), to retry later. */
    private static boolean tryCommit(KafkaConsumer<String, String> member) {
        if (member.assignment().isEmpty()) {
            return false;
        }
        try {
            member.commitSync(Duration.ofSeconds(10));
            return true;
        } catch (KafkaException e) { // retriable errors, a timeout, CommitFailedException after a rebalance
            System.out.printf("commit failed, will retry: %s%n", e);
            return false;
        }
    }

    private static int awaitCoordinatorOtherThan(int askNode, String group, int dead) {
        int[] found = new int[1];
        await("a coordinator for " + group + " other than the killed node " + dead).atMost(RECOVERY_DEADLINE)
                .pollInterval(Duration.ofMillis(250))
                .until(() -> {
                    found[0] = GroupRequests.awaitCoordinator(cluster.port(askNode), group, RECOVERY_DEADLINE);
                    return found[0] != dead;
                });
        return found[0];
    }

    private static void assertNoneBelow(List<ConsumerRecord<String, String>> records,
            Map<TopicPartition, Long> committed, String what) {
        Map<TopicPartition, Long> lowest = new HashMap<>();
        records.forEach(record -> lowest.merge(new TopicPartition(record.topic(), record.partition()),
                record.offset(), Math::min));
        lowest.forEach((partition, offset) -> assertThat(offset)
                .as("lowest offset of %s %s (committed %s)", partition, what, committed.get(partition))
                .isGreaterThanOrEqualTo(committed.getOrDefault(partition, 0L)));
    }
}
