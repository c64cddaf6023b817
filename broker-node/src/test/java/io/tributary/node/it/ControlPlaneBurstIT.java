package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A burst of controller work at default node settings: librdkafka's test 0045 creates 100 topics in one CreateTopics
 * request. Before group commit the controller committed one topic at a time (6.5-15 s), fenced all three brokers
 * meanwhile, and a re-sent request answered "topic already exists" for brand-new topics. Now every topic is reported
 * created exactly once and no broker is fenced.
 */
class ControlPlaneBurstIT {

    private static final int TOPICS = 100;
    private static final Duration TOOL_DEADLINE = Duration.ofSeconds(60);

    @org.junit.jupiter.api.io.TempDir
    java.nio.file.Path workDir;

    /**
     * Kafka's kafka-metadata-quorum (DescribeQuorum, forwarded to the quorum leader) describes the quorum: the active
     * controller as leader, a high watermark, every voter, and the followers' replication state.
     */
    @Test
    void kafkaMetadataQuorumToolDescribesTheQuorum() {
        cluster.awaitHealthy();
        java.nio.file.Path jars = java.nio.file.Path.of(System.getProperty("kafka.tools.dir", "target/kafka-tools"))
                .toAbsolutePath();
        ExternalCommand.Result status = ExternalCommand.run(List.of(
                java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx128m",
                NodeProcess.C1_ONLY,
                "-cp", jars + "/*", "org.apache.kafka.tools.MetadataQuorumCommand",
                "--bootstrap-server", cluster.bootstrap(), "describe", "--status"), "", TOOL_DEADLINE, workDir);
        assertThat(status.exitCode()).as("%s", status).isZero();
        String out = String.join("\n", status.stdoutLines());
        int controller = cluster.controllerId();
        assertThat(status.stdoutLines()).as("%s", status)
                .anyMatch(line -> line.matches("LeaderId:\\s+" + controller + "\\s*"))
                .anyMatch(line -> line.matches("HighWatermark:\\s+[1-9][0-9]*\\s*"))
                .anyMatch(line -> line.startsWith("CurrentVoters:"));
        for (int id : cluster.ids()) {
            assertThat(out).contains("\"id\": " + id);
        }

        ExternalCommand.Result replication = ExternalCommand.run(List.of(
                java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx128m",
                NodeProcess.C1_ONLY,
                "-cp", jars + "/*", "org.apache.kafka.tools.MetadataQuorumCommand",
                "--bootstrap-server", cluster.bootstrap(), "describe", "--replication"), "", TOOL_DEADLINE,
                workDir);
        assertThat(replication.exitCode()).as("%s", replication).isZero();
        assertThat(replication.stdoutLines()).as("%s", replication)
                .anyMatch(line -> line.matches("\\s*" + controller + "\\s.*Leader\\s*"))
                .filteredOn(line -> line.contains("Follower")).hasSize(cluster.ids().size() - 1);
    }

    @RegisterExtension
    static final ClusterProcesses cluster = ClusterProcesses.atDefaultTimeouts(3, 3, Map.of());

    @Test
    void createsOneHundredTopicsInOneRequestEachOnceWithNoBrokerFenced() throws Exception {
        cluster.awaitHealthy();
        Map<Integer, Long> logStart = new java.util.HashMap<>();
        for (int id : cluster.ids()) {
            logStart.put(id, cluster.node(id).logSize());
        }
        List<NewTopic> topics = new ArrayList<>();
        for (int i = 0; i < TOPICS; i++) {
            topics.add(new NewTopic("burst-" + i, 2, (short) 3));
        }

        long startNs = System.nanoTime();
        try (Admin admin = Clients.admin(cluster.bootstrap(1, 2, 3))) {
            CreateTopicsResult result = admin.createTopics(topics);
            // Every topic succeeds: none "already exists" (a retry run twice), none "no brokers" (fenced brokers).
            result.all().get(60, TimeUnit.SECONDS);
            long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
            System.out.printf("created %d topics in one CreateTopics request in %d ms%n", TOPICS, elapsedMs);

            Map<String, TopicDescription> described = admin.describeTopics(
                    topics.stream().map(NewTopic::name).toList()).allTopicNames().get(60, TimeUnit.SECONDS);
            assertThat(described).hasSize(TOPICS);
            assertThat(described.values()).allSatisfy(d -> assertThat(d.partitions()).hasSize(2));
        }
        assertThat(cluster.awaitHealthy(Duration.ofSeconds(60)).fencedBrokers()).isEmpty();
        for (int id : cluster.ids()) {
            assertThat(cluster.node(id).logSince(logStart.get(id)))
                    .as("node %d's log during the burst", id)
                    .doesNotContain("fencing brokers")
                    .doesNotContain("is unfenced");
        }
    }
}
