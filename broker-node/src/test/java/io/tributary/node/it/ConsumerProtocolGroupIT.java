package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.SubscriptionPattern;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.GroupType;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * KIP-848 consumer groups on a 3-node cluster with kafka-clients' consumer ({@code group.protocol=consumer}) and
 * Kafka's own {@code kafka-consumer-groups}: three members split six partitions, one leaves (close), one is killed
 * (SIGKILL of its JVM), the survivor gets all six, commits, and a restarted consumer (subscribed by a regex) resumes
 * from the commits.
 */
class ConsumerProtocolGroupIT {
    private static final int PARTITIONS = 6;
    private static final int SESSION_TIMEOUT_MS = 8_000;
    private static final Duration GROUP_DEADLINE = Duration.ofSeconds(90);
    private static final Duration TOOL_DEADLINE = Duration.ofSeconds(90);

    @RegisterExtension
    static final ClusterProcesses cluster = new ClusterProcesses(3, 3, Map.of(
            "offsets.topic.num.partitions", "10",
            "group.consumer.session.timeout.ms", Integer.toString(SESSION_TIMEOUT_MS),
            "group.consumer.heartbeat.interval.ms", "500"));

    @TempDir
    Path workDir;

    /** A KIP-848 member that starts at the earliest offset where nothing is committed and never commits alone. */
    static KafkaConsumer<String, String> consumer(String bootstrap, String group, Map<String, Object> overrides) {
        Map<String, Object> config = new HashMap<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ConsumerConfig.GROUP_ID_CONFIG, group,
                ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer",
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
                ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000,
                ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000));
        config.putAll(overrides);
        return new KafkaConsumer<>(config, new StringDeserializer(), new StringDeserializer());
    }

    @Test
    void threeMembersSplitSixPartitionsSurviveALeaveAndAKillAndAResumedConsumerStartsAtTheCommits()
            throws Exception {
        // Given: six partitions of 10 records each, and three members: two here, one in a JVM of its own
        String topic = "kip848";
        String group = "kip848-group";
        Clients.createTopic(cluster.bootstrap(), topic, PARTITIONS, 3);
        cluster.awaitAgreedMetadata(topic);
        GroupConsumers.produceNumbered(cluster.bootstrap(), topic, PARTITIONS, 10);
        try (KafkaConsumer<String, String> survivor = consumer(cluster.bootstrap(), group, Map.of());
                KafkaConsumer<String, String> leaver = consumer(cluster.bootstrap(), group, Map.of());
                KafkaConsumerProcess victim = KafkaConsumerProcess.start("victim", workDir, cluster.bootstrap(),
                        group, topic)) {
            survivor.subscribe(List.of(topic));
            leaver.subscribe(List.of(topic));
            Set<String> read = new TreeSet<>(); // every record the survivor polls, from its first poll on

            // Then: the three split the six, two each (uniform assignor), the group Stable
            await("three members with two partitions each").atMost(GROUP_DEADLINE).pollInSameThread()
                    .pollInterval(Duration.ZERO)
                    .ignoreExceptionsInstanceOf(ExecutionException.class) // the group is not there yet
                    .conditionEvaluationListener(c -> {
                        if (c.getRemainingTimeInMS() <= 0) {
                            System.out.println(victim.output());
                        }
                    })
                    .until(() -> {
                        survivor.poll(Duration.ofMillis(100)).forEach(r -> read.add(r.value()));
                        leaver.poll(Duration.ofMillis(100));
                        ConsumerGroupDescription d = describe(group);
                        return d.groupState() == GroupState.STABLE && d.members().size() == 3
                                && d.members().stream().allMatch(m -> m.assignment().topicPartitions().size() == 2)
                                && survivor.assignment().size() == 2 && leaver.assignment().size() == 2;
                    });
            assertThat(owned(describe(group))).hasSize(PARTITIONS);
            assertThat(describe(group).type()).isEqualTo(GroupType.CONSUMER);

            // When: one member leaves, and the other one's JVM is killed
            leaver.close();
            victim.kill();

            // Then: after the killed member's session ends, the survivor owns all six
            await("the survivor owns every partition").atMost(GROUP_DEADLINE).pollInSameThread()
                    .pollInterval(Duration.ZERO)
                    .until(() -> {
                        survivor.poll(Duration.ofMillis(100)).forEach(r -> read.add(r.value()));
                        return survivor.assignment().size() == PARTITIONS && describe(group).members().size() == 1;
                    });
            // ... and reads the records of all six (those of the four it took over from the start: nothing was
            // committed); it commits its positions (10 a partition)
            await("the survivor reads every record").atMost(GROUP_DEADLINE).pollInSameThread()
                    .pollInterval(Duration.ZERO).until(() -> {
                        for (ConsumerRecord<String, String> r : survivor.poll(Duration.ofMillis(100))) {
                            read.add(r.value());
                        }
                        // A partition it owned for a while before the three split (and read then) starts again
                        // from the beginning when it comes back: its position, not the set read, says it is done.
                        return read.size() == PARTITIONS * 10 && survivor.assignment().size() == PARTITIONS
                                && survivor.assignment().stream().allMatch(tp -> survivor.position(tp) == 10);
                    });
            Map<TopicPartition, OffsetAndMetadata> positions = new HashMap<>();
            for (TopicPartition tp : survivor.assignment()) {
                positions.put(tp, new OffsetAndMetadata(survivor.position(tp)));
            }
            survivor.commitSync(positions);
            assertThat(GroupConsumers.committedOffsets(cluster.bootstrap(), group).values())
                    .hasSize(PARTITIONS).allMatch(offset -> offset == 10);
        }

        // When: five more records a partition, and a consumer of the group starts again, subscribed by a regex
        // (KIP-848: matched by the coordinator)
        GroupConsumers.produceNumbered(cluster.bootstrap(), topic, PARTITIONS, 5);
        try (KafkaConsumer<String, String> restarted = consumer(cluster.bootstrap(), group, Map.of())) {
            restarted.subscribe(new SubscriptionPattern("kip8[0-9]+"));
            List<String> values = new ArrayList<>();
            await("the restarted consumer reads the new records").atMost(GROUP_DEADLINE).pollInSameThread()
                    .pollInterval(Duration.ZERO).until(() -> {
                        // by position: the new records' values repeat the first ones' ("<partition>-<i>", i from 0)
                        restarted.poll(Duration.ofMillis(100)).forEach(r -> values.add(r.partition() + "@"
                                + r.offset()));
                        return values.size() >= PARTITIONS * 5;
                    });

            // Then: it starts at the commits: only the new records (offsets 10 to 14 of each partition)
            Set<String> expected = new TreeSet<>();
            for (int p = 0; p < PARTITIONS; p++) {
                for (int i = 10; i < 15; i++) {
                    expected.add(p + "@" + i);
                }
            }
            assertThat(new TreeSet<>(values)).isEqualTo(expected);
            assertThat(values).hasSize(PARTITIONS * 5);

            // ... and kafka-consumer-groups describes the group: each partition with its offsets and the member
            String memberId = restarted.groupMetadata().memberId();
            ExternalCommand.Result describe = KafkaConsumerGroupsTool.run(cluster.bootstrap(), workDir, TOOL_DEADLINE,
                    "--describe", "--group", group);
            assertThat(describe.exitCode()).as(describe.toString()).isZero();
            Map<Integer, Map<String, String>> rows = KafkaConsumerGroupsTool.describeRows(describe, topic);
            assertThat(rows.keySet()).as(describe.toString()).containsExactly(0, 1, 2, 3, 4, 5);
            rows.values().forEach(row -> {
                assertThat(row.get("CURRENT-OFFSET")).as(describe.toString()).isEqualTo("10");
                assertThat(row.get("LOG-END-OFFSET")).as(describe.toString()).isEqualTo("15");
                assertThat(row.get("CONSUMER-ID")).as(describe.toString()).isEqualTo(memberId);
            });
            ExternalCommand.Result state = KafkaConsumerGroupsTool.run(cluster.bootstrap(), workDir, TOOL_DEADLINE,
                    "--describe", "--group", group, "--state");
            assertThat(state.exitCode()).as(state.toString()).isZero();
            assertThat(state.stdout()).as(state.toString()).contains("uniform").contains("Stable");
        }
    }

    private static ConsumerGroupDescription describe(String group) throws Exception {
        try (Admin admin = Clients.admin(cluster.bootstrap())) {
            return admin.describeConsumerGroups(List.of(group)).describedGroups().get(group)
                    .get(Clients.CLIENT_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private static Set<TopicPartition> owned(ConsumerGroupDescription d) {
        return d.members().stream().map(MemberDescription::assignment)
                .flatMap(a -> a.topicPartitions().stream()).collect(Collectors.toSet());
    }
}
