package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kafka's own {@code kafka-reassign-partitions} ({@code org.apache.kafka.tools.reassign.ReassignPartitionsCommand},
 * run as a separate JVM from the 4.4.0 jars the build copies to {@code target/kafka-configs-tool}, with Jackson
 * from {@code target/kafka-tools}) on a 4-node cluster moves the
 * replica of a 3-replica partition from node 3 to node 4 while an idempotent acks=all producer and a consumer run:
 * node 4 catches up by replication and joins the ISR, the controller completes the move, {@code --verify} reports
 * it completed, node 3's log directory of the partition is gone, node 4's log is byte-identical to the other
 * replicas', every acknowledged record is there once at its offset, and the consumer never saw an error.
 *
 * <p>The tool asks every broker for its replicas' log dirs (DescribeLogDirs) before it starts a move, so this test
 * needs the DescribeLogDirs handler (branch wt-smallapis); {@code --verify} runs with {@code --preserve-throttles},
 * since clearing throttles alters broker configs, which need dynamic broker configs (branch wt-brokercfg).
 */
class ReassignPartitionsIT {
    private static final String TOPIC = "moving";
    private static final Duration DEADLINE = Duration.ofSeconds(90);

    @RegisterExtension
    static final ClusterProcesses cluster = new ClusterProcesses(4, 3);

    @TempDir
    Path workDir;

    @Test
    void kafkaReassignPartitionsMovesAReplicaFromNodeThreeToNodeFourUnderLoad() throws Exception {
        // Given a topic of 4 partitions of 3 replicas over 4 nodes: one partition is on nodes 1, 2 and 3 exactly
        Clients.createTopic(cluster.bootstrap(), TOPIC, 4, 3, Map.of("segment.bytes", "65536"));
        cluster.awaitAgreedMetadata(TOPIC);
        int partition = -1;
        List<Integer> replicas = null;
        for (int p = 0; p < 4; p++) {
            KafkaRequests.PartitionState state = cluster.awaitFullIsr(TOPIC, p, DEADLINE);
            if (new TreeSet<>(state.replicas()).equals(new TreeSet<>(Set.of(1, 2, 3)))) {
                partition = p;
                replicas = state.replicas();
            }
        }
        assertThat(partition).as("a partition on nodes 1, 2, 3").isNotNegative();
        TopicPartition tp = new TopicPartition(TOPIC, partition);
        List<Integer> target = replicas.stream().map(r -> r == 3 ? 4 : r).toList();

        // and a producer (acks=all, idempotent) and a consumer running on it, with records already written
        try (RecordingConsumer consumer = new RecordingConsumer(cluster.bootstrap(), List.of(tp));
                AckedSends sends = new AckedSends(Clients.producer(cluster.bootstrap(), Map.of()), tp, "move",
                        Duration.ofMillis(2), 200)) {
            sends.start();
            consumer.start();
            await("2,000 acknowledged records before the move").atMost(DEADLINE)
                    .until(() -> sends.ackedCount() >= 2_000);

            // When kafka-reassign-partitions moves the partition from node 3 to node 4
            Path plan = workDir.resolve("reassignment.json");
            Files.writeString(plan, "{\"version\": 1, \"partitions\": [{\"topic\": \"" + TOPIC + "\", \"partition\": "
                    + partition + ", \"replicas\": " + target + "}]}");
            ExternalCommand.Result executed = reassign("--execute", "--reassignment-json-file", plan.toString());
            assertThat(executed.exitCode()).as("%s", executed).isZero();
            assertThat(executed.stdout()).as("%s", executed).contains("Successfully started partition reassignment");

            // Then --verify reports it completed, and every node describes the partition on the target replicas
            ExternalCommand.Result[] verified = new ExternalCommand.Result[1];
            await("kafka-reassign-partitions --verify reports the move completed").atMost(DEADLINE)
                    .pollInterval(Duration.ofSeconds(1))
                    .until(() -> {
                        verified[0] = reassign("--verify", "--preserve-throttles", "--reassignment-json-file",
                                plan.toString());
                        return verified[0].exitCode() == 0 && verified[0].stdout().contains(
                                "Reassignment of partition " + tp + " is completed.");
                    });
            cluster.awaitPartition(TOPIC, partition, "replicas " + target + ", all in the ISR",
                    s -> s.replicas().equals(target) && new TreeSet<>(s.isr()).equals(new TreeSet<>(target)),
                    DEADLINE);
            // and node 3 deletes its replica's log directory
            Path movedAway = cluster.node(3).partitionDir(TOPIC, partition);
            await("node 3 deletes " + movedAway).atMost(DEADLINE).until(() -> !Files.exists(movedAway));
            assertThat(Files.exists(cluster.node(4).partitionDir(TOPIC, partition))).isTrue();

            // and the load goes on after the move
            long movedAtNs = System.nanoTime();
            await("an acknowledged send after the move").atMost(DEADLINE).until(() -> sends.ackedSentAfter(movedAtNs));
            sends.stop(Duration.ofSeconds(30));

            // Then every acknowledged record is on the partition once, at its offset, on every replica alike
            cluster.awaitIdenticalLogs(TOPIC, partition, new HashSet<>(target), DEADLINE);
            List<AckedSends.Ack> acks = sends.acks();
            consumer.awaitRead(tp, acks.stream().mapToLong(AckedSends.Ack::offset).max().orElseThrow(), DEADLINE);
            consumer.close();
            assertThat(consumer.missing(tp, acks)).as("acknowledged records missing or changed (of %d)", acks.size())
                    .isEmpty();
            assertThat(consumer.errors()).as("consumer errors").isEmpty();
            assertThat(acks.size()).isGreaterThan(2_000);
        }
    }

    /** Runs Kafka's ReassignPartitionsCommand (kafka-reassign-partitions.sh) against the cluster in its own JVM. */
    private ExternalCommand.Result reassign(String... args) {
        // The 4.4.0 set of ConfigsToolIT (kafka-tools 4.2.1's set lacks kafka-metadata, whose ReplicaPlacer the
        // command loads at start) with the JSON parser of the kafka-tools set.
        Path jars = Path.of(System.getProperty("kafka.configs.tool.dir", "target/kafka-configs-tool"))
                .toAbsolutePath();
        Path tools = Path.of(System.getProperty("kafka.tools.dir", "target/kafka-tools")).toAbsolutePath();
        StringBuilder classpath = new StringBuilder(jars + "/*");
        try (java.util.stream.Stream<Path> files = Files.list(tools)) {
            files.filter(f -> f.getFileName().toString().startsWith("jackson-"))
                    .forEach(f -> classpath.append(java.io.File.pathSeparator).append(f));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx128m",
                "-cp", classpath.toString(),
                "org.apache.kafka.tools.reassign.ReassignPartitionsCommand",
                "--bootstrap-server", cluster.bootstrap()));
        command.addAll(List.of(args));
        return ExternalCommand.run(command, "", Duration.ofSeconds(90), workDir);
    }
}
