package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewPartitionReassignment;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidRequestException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Scale out and in under load: a running 3-node cluster (node 4 of the harness stopped and fenced) gets a fourth
 * node, which registers and receives one replica of every partition of a 3-replica topic through reassignments
 * (leaders moved among them); then node 4 is drained (every replica moved back), stopped and unregistered
 * (UnregisterBroker, refused while it still hosted replicas). Throughout, an acks=all producer per partition and a
 * consumer run: no acknowledged record is lost, the consumer sees no error, and in the end the cluster knows three
 * brokers, node 4 neither live nor fenced.
 */
class ScaleOutInIT {
    private static final String TOPIC = "scaled";
    private static final int PARTITIONS = 3;
    private static final Duration DEADLINE = Duration.ofSeconds(90);

    @RegisterExtension
    static final ClusterProcesses cluster = new ClusterProcesses(4, 3);

    @Test
    void aThreeNodeClusterScalesOutToFourAndBackInToThreeUnderLoad() throws Exception {
        // Given three running nodes (node 4 stopped) and a topic of 3 partitions x 3 replicas on them
        cluster.kill(4);
        cluster.awaitHealthy();
        Clients.createTopic(cluster.bootstrap(), TOPIC, PARTITIONS, 3, Map.of("min.insync.replicas", "2"));
        cluster.awaitAgreedMetadata(TOPIC);
        Map<Integer, List<Integer>> original = new HashMap<>();
        for (int p = 0; p < PARTITIONS; p++) {
            original.put(p, cluster.awaitFullIsr(TOPIC, p, DEADLINE).replicas());
        }
        // and load on every partition: a producer each (acks=all, idempotent) and one consumer of all
        List<AckedSends> senders = new ArrayList<>();
        List<TopicPartition> partitions = new ArrayList<>();
        for (int p = 0; p < PARTITIONS; p++) {
            partitions.add(new TopicPartition(TOPIC, p));
        }
        RecordingConsumer consumer = new RecordingConsumer(cluster.bootstrap(), partitions);
        try (Admin admin = Clients.admin(cluster.bootstrap())) {
            for (int p = 0; p < PARTITIONS; p++) {
                AckedSends sends = new AckedSends(Clients.producer(cluster.bootstrap(), Map.of()),
                        new TopicPartition(TOPIC, p), "p" + p, Duration.ofMillis(5), 100);
                senders.add(sends);
                sends.start();
            }
            consumer.start();
            await("acknowledged sends on every partition").atMost(DEADLINE)
                    .until(() -> senders.stream().allMatch(s -> s.ackedCount() >= 200));

            // When node 4 starts, registers, and one replica of every partition moves to it
            cluster.restart(4);
            cluster.awaitHealthy();
            Map<Integer, List<Integer>> scaledOut = new HashMap<>();
            for (int p = 0; p < PARTITIONS; p++) {
                List<Integer> target = new ArrayList<>(original.get(p));
                target.set(p % 3, 4); // partition 0 gives up its leader
                scaledOut.put(p, List.copyOf(target));
            }
            reassign(admin, scaledOut);

            // Then node 4 hosts a replica of every partition, in the ISR
            for (int p = 0; p < PARTITIONS; p++) {
                assertThat(Files.isDirectory(cluster.node(4).partitionDir(TOPIC, p))).isTrue();
            }
            // and it cannot be unregistered while it does
            assertThatThrownBy(() -> admin.unregisterBroker(4).all().get(30, TimeUnit.SECONDS))
                    .hasCauseInstanceOf(InvalidRequestException.class).hasMessageContaining("still hosts");

            // When node 4 is drained (every partition back on 1-3), stopped and unregistered
            reassign(admin, original);
            for (int p = 0; p < PARTITIONS; p++) {
                java.nio.file.Path dir = cluster.node(4).partitionDir(TOPIC, p);
                await("node 4 deletes " + dir).atMost(DEADLINE).until(() -> !Files.exists(dir));
            }
            cluster.kill(4);
            admin.unregisterBroker(4).all().get(30, TimeUnit.SECONDS);

            // Then every node knows three brokers only: node 4 is neither live nor fenced
            await("every node forgets node 4").atMost(DEADLINE).pollInterval(Duration.ofMillis(200))
                    .untilAsserted(() -> cluster.describeClusterFromEvery().values().forEach(view -> {
                        assertThat(view.liveBrokers()).containsExactlyInAnyOrder(1, 2, 3);
                        assertThat(view.fencedBrokers()).isEmpty();
                    }));
            // and the load went on: acknowledged sends after it on every partition
            long scaledInAtNs = System.nanoTime();
            await("acknowledged sends on every partition after the scale-in").atMost(DEADLINE)
                    .until(() -> senders.stream().allMatch(s -> s.ackedSentAfter(scaledInAtNs)));
            senders.forEach(s -> s.stop(Duration.ofSeconds(30)));

            // and every acknowledged record was read at its offset, once, without a consumer error
            List<String> lost = new ArrayList<>();
            for (int p = 0; p < PARTITIONS; p++) {
                List<AckedSends.Ack> acks = senders.get(p).acks();
                consumer.awaitRead(partitions.get(p), acks.stream().mapToLong(AckedSends.Ack::offset).max()
                        .orElseThrow(), DEADLINE);
                lost.addAll(consumer.missing(partitions.get(p), acks));
            }
            consumer.close();
            assertThat(lost).as("acknowledged records missing or changed").isEmpty();
            assertThat(consumer.errors()).as("consumer errors").isEmpty();
        } finally {
            senders.forEach(AckedSends::close);
            consumer.close();
        }
    }

    /** Starts the reassignments and waits until they completed, as every running node describes the partitions. */
    private static void reassign(Admin admin, Map<Integer, List<Integer>> targets) throws Exception {
        Map<TopicPartition, Optional<NewPartitionReassignment>> moves = new HashMap<>();
        targets.forEach((p, replicas) -> moves.put(new TopicPartition(TOPIC, p),
                Optional.of(new NewPartitionReassignment(replicas))));
        admin.alterPartitionReassignments(moves).all().get(30, TimeUnit.SECONDS);
        await("reassignments to " + targets + " completed").atMost(DEADLINE).pollInterval(Duration.ofMillis(500))
                .until(() -> admin.listPartitionReassignments().reassignments().get(30, TimeUnit.SECONDS)
                        .isEmpty());
        for (Map.Entry<Integer, List<Integer>> t : targets.entrySet()) {
            Set<Integer> replicas = new TreeSet<>(t.getValue());
            cluster.awaitPartition(TOPIC, t.getKey(), "replicas " + t.getValue() + ", all in the ISR",
                    s -> s.replicas().equals(t.getValue()) && new TreeSet<>(s.isr()).equals(replicas), DEADLINE);
        }
    }
}
