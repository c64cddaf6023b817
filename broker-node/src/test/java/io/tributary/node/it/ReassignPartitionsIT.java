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
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
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
 *
 * <p>With {@code --throttle} (KIP-73) the tool sets {@code leader/follower.replication.throttled.rate} on every
 * broker and the throttled replicas on the topic; the copy then keeps to the throttle's burst and rate, the rate can
 * be raised by resubmitting the move with {@code --additional}, and {@code --verify} clears every throttle once the
 * move is complete.
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

    @Test
    void aThrottledMoveCopiesNoFasterThanItsThrottleAndVerifyClearsTheThrottles() throws Exception {
        // Given a partition on nodes 1, 2 and 3 holding 6 MB
        String topic = "throttled";
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap()))) {
            admin.createTopics(List.of(new NewTopic(topic, Map.of(0, List.of(1, 2, 3)))
                    .configs(Map.of("segment.bytes", Integer.toString(1 << 20))))).all().get();
        }
        cluster.awaitAgreedMetadata(topic);
        cluster.awaitFullIsr(topic, 0, DEADLINE);
        try (KafkaProducer<String, String> producer = Clients.producer(cluster.bootstrap(), Map.of())) {
            String value = "x".repeat(10_000);
            for (int i = 0; i < 600; i++) {
                producer.send(new ProducerRecord<>(topic, 0, null, value));
            }
            producer.flush();
        }
        int partitionBytes = cluster.partitionLogBytes(1, topic, 0).length;
        assertThat(partitionBytes).isGreaterThan(6_000_000);

        // When kafka-reassign-partitions moves it to nodes 1, 2 and 4 with a throttle of 50,000 bytes/s
        Path plan = workDir.resolve("throttled.json");
        Files.writeString(plan, "{\"version\": 1, \"partitions\": [{\"topic\": \"" + topic
                + "\", \"partition\": 0, \"replicas\": [1, 2, 4]}]}");
        long startedNs = System.nanoTime();
        ExternalCommand.Result executed = reassign("--execute", "--throttle", "50000", "--reassignment-json-file",
                plan.toString());
        assertThat(executed.exitCode()).as("%s", executed).isZero();
        assertThat(executed.stdout()).as("%s", executed).contains("throttle limit was set to 50000 B/s");

        // Then every broker has the rates and the topic names the replicas to throttle
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap()))) {
            for (int broker = 1; broker <= 4; broker++) {
                ConfigResource resource = new ConfigResource(ConfigResource.Type.BROKER, Integer.toString(broker));
                Config config = admin.describeConfigs(List.of(resource)).all().get().get(resource);
                assertThat(config.get("leader.replication.throttled.rate").value()).as("broker %d", broker)
                        .isEqualTo("50000");
                assertThat(config.get("follower.replication.throttled.rate").value()).isEqualTo("50000");
            }
            ConfigResource topicResource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            Config topicConfig = admin.describeConfigs(List.of(topicResource)).all().get().get(topicResource);
            assertThat(topicConfig.get("leader.replication.throttled.replicas").value()).contains("0:1", "0:2",
                    "0:3");
            assertThat(topicConfig.get("follower.replication.throttled.replicas").value()).isEqualTo("0:4");
        }
        // and for six seconds node 4 receives at most the throttle's first burst (ten seconds' worth, let through in
        // answers of up to 1 MiB): an unthrottled copy takes about a second
        long maxCopied = 0;
        while (System.nanoTime() - startedNs < 6_000_000_000L) {
            long copied = segmentBytes(cluster.node(4).partitionDir(topic, 0));
            maxCopied = Math.max(maxCopied, copied);
            assertThat(copied).as("bytes on node 4 %d ms after the move started", (System.nanoTime() - startedNs)
                    / 1_000_000).isLessThan(2_500_000);
            java.util.concurrent.locks.LockSupport.parkNanos(50_000_000L); // sampling, not waiting for anything
        }
        PrometheusScrape leaderSide = PrometheusScrape.of(cluster.metricsPort(1));
        assertThat(leaderSide.sum("tributary_replication_throttle_held_back_total") + PrometheusScrape.of(
                cluster.metricsPort(4)).sum("tributary_replication_throttle_held_back_total"))
                .as("fetches held back by the leader (node 1) or follower (node 4) throttle").isPositive();

        // When the throttle is raised (the tool resubmits the same move with --additional)
        ExternalCommand.Result raised = reassign("--execute", "--additional", "--throttle", "100000000",
                "--reassignment-json-file", plan.toString());
        assertThat(raised.exitCode()).as("%s", raised).isZero();

        // Then the move completes, --verify clears every throttle, and the copy is whole
        ExternalCommand.Result[] verified = new ExternalCommand.Result[1];
        await("kafka-reassign-partitions --verify reports the throttled move completed").atMost(DEADLINE)
                .pollInterval(Duration.ofSeconds(1))
                .until(() -> {
                    verified[0] = reassign("--verify", "--reassignment-json-file", plan.toString());
                    return verified[0].exitCode() == 0 && verified[0].stdout().contains(
                            "Reassignment of partition " + topic + "-0 is completed.");
                });
        assertThat(verified[0].stdout()).as("%s", verified[0]).contains("Clearing broker-level throttles",
                "Clearing topic-level throttles");
        // (the tool's deletes are committed to the metadata quorum; a node other than the one that took them shows
        // them once it has applied that record, as a Kafka broker does, so the describes wait for every node)
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap()))) {
            await("every broker's throttle rate back to its default").atMost(DEADLINE)
                    .pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
                        for (int broker = 1; broker <= 4; broker++) {
                            ConfigResource resource = new ConfigResource(ConfigResource.Type.BROKER,
                                    Integer.toString(broker));
                            ConfigEntry rate = admin.describeConfigs(List.of(resource)).all().get().get(resource)
                                    .get("leader.replication.throttled.rate");
                            assertThat(rate.source()).as("broker %d", broker)
                                    .isEqualTo(ConfigEntry.ConfigSource.DEFAULT_CONFIG);
                        }
                    });
            ConfigResource topicResource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            await("the topic's throttled replica lists cleared").atMost(DEADLINE)
                    .pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
                        Config topicConfig = admin.describeConfigs(List.of(topicResource)).all().get()
                                .get(topicResource);
                        assertThat(topicConfig.get("leader.replication.throttled.replicas").value()).isEmpty();
                        assertThat(topicConfig.get("follower.replication.throttled.replicas").value()).isEmpty();
                    });
        }
        cluster.awaitIdenticalLogs(topic, 0, Set.of(1, 2, 4), DEADLINE);
        assertThat(maxCopied).as("node 4 had received something while throttled").isPositive();
    }

    /** The bytes of the .log segments in {@code dir}, 0 if it does not exist (yet). */
    private static long segmentBytes(Path dir) throws java.io.IOException {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (java.util.stream.Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".log")).mapToLong(f -> f.toFile().length())
                    .sum();
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
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx128m", NodeProcess.C1_ONLY,
                "-cp", classpath.toString(),
                "org.apache.kafka.tools.reassign.ReassignPartitionsCommand",
                "--bootstrap-server", cluster.bootstrap()));
        command.addAll(List.of(args));
        return ExternalCommand.run(command, "", Duration.ofSeconds(90), workDir);
    }
}
