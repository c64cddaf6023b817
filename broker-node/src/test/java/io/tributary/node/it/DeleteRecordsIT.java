package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kafka's own {@code kafka-delete-records} ({@code org.apache.kafka.tools.DeleteRecordsCommand}, run as a separate
 * JVM from the jars the build copies to {@code target/kafka-tools}) on a 3-node cluster: the log start offset moves
 * on all three replicas (each node's {@code log-start-offset} checkpoint, and the segments below it are gone), a
 * consumer from the beginning and ListOffsets earliest start there, and a follower killed and restarted keeps it.
 */
class DeleteRecordsIT {
    private static final String TOPIC = "purged";
    private static final TopicPartition TP = new TopicPartition(TOPIC, 0);
    private static final int RECORDS = 3_000;
    private static final long DELETE_BEFORE = 1_500;
    private static final Duration DEADLINE = Duration.ofSeconds(60);

    @RegisterExtension
    static final ClusterProcesses cluster = new ClusterProcesses(3, 3);

    @TempDir
    Path workDir;

    @Test
    void kafkaDeleteRecordsMovesTheStartOnEveryReplicaAndARestartedFollowerKeepsIt() throws Exception {
        // Given a 3-replica topic with small segments and 3,000 records on every replica
        Clients.createTopic(cluster.bootstrap(), TOPIC, 1, 3, Map.of("segment.bytes", "16384"));
        cluster.awaitAgreedMetadata(TOPIC);
        try (KafkaProducer<String, String> producer = Clients.producer(cluster.bootstrap(), Map.of())) {
            for (int i = 0; i < RECORDS; i++) {
                producer.send(new ProducerRecord<>(TOPIC, 0, null, "record-" + i + "-" + "x".repeat(40)));
            }
            producer.flush();
        }
        int leader = cluster.awaitFullIsr(TOPIC, 0, DEADLINE).leader();

        // When kafka-delete-records deletes the records before offset 1,500
        Path offsets = workDir.resolve("offsets.json");
        Files.writeString(offsets, "{\"partitions\": [{\"topic\": \"" + TOPIC + "\", \"partition\": 0, \"offset\": "
                + DELETE_BEFORE + "}], \"version\": 1}");
        ExternalCommand.Result result = deleteRecords("--offset-json-file", offsets.toString());

        // Then it reports the low watermark, and every replica's log start offset is there, its segments below gone
        assertThat(result.exitCode()).as("%s", result).isZero();
        assertThat(result.stdout()).as("%s", result).contains("partition: " + TOPIC + "-0\tlow_watermark: "
                + DELETE_BEFORE);
        for (int id : cluster.ids()) {
            assertThat(logStartOffset(id)).as("log start offset on node %d", id).isEqualTo(DELETE_BEFORE);
            List<Path> segments = cluster.node(id).segmentFiles(TOPIC, 0);
            assertThat(baseOffset(segments.get(0))).as("first segment on node %d", id).isPositive()
                    .isLessThanOrEqualTo(DELETE_BEFORE);
        }
        assertThat(earliest()).isEqualTo(DELETE_BEFORE);
        assertThat(firstOffsetFromTheBeginning()).isEqualTo(DELETE_BEFORE);

        // When a follower is killed and restarted
        int follower = cluster.ids().stream().filter(id -> id != leader).findFirst().orElseThrow();
        cluster.kill(follower);
        cluster.restart(follower);
        cluster.awaitFullIsr(TOPIC, 0, DEADLINE);

        // Then it still starts at 1,500, and so does the partition once the follower leads it
        assertThat(logStartOffset(follower)).isEqualTo(DELETE_BEFORE);
        cluster.kill(leader);
        await("node " + follower + " or the third replica leads " + TOPIC).atMost(DEADLINE)
                .ignoreExceptionsInstanceOf(UncheckedIOException.class)
                .until(() -> {
                    int now = cluster.partitionState(follower, TOPIC, 0).leader();
                    return now >= 0 && now != leader;
                });
        assertThat(earliest()).as("ListOffsets earliest from the new leader").isEqualTo(DELETE_BEFORE);
        assertThat(firstOffsetFromTheBeginning()).isEqualTo(DELETE_BEFORE);
        cluster.restart(leader);
        cluster.awaitFullIsr(TOPIC, 0, DEADLINE);
    }

    private static long logStartOffset(int id) throws IOException {
        Path file = cluster.node(id).partitionDir(TOPIC, 0).resolve("log-start-offset");
        List<String> lines = Files.readAllLines(file);
        return Long.parseLong(lines.get(1).trim());
    }

    private static long baseOffset(Path segment) {
        String name = segment.getFileName().toString();
        return Long.parseLong(name.substring(0, name.indexOf('.')));
    }

    private static long earliest() throws Exception {
        try (Admin admin = Clients.admin(cluster.bootstrap())) {
            return admin.listOffsets(Map.of(TP, OffsetSpec.earliest())).partitionResult(TP).get(30, TimeUnit.SECONDS)
                    .offset();
        }
    }

    private static long firstOffsetFromTheBeginning() {
        try (KafkaConsumer<String, String> consumer = Clients.consumer(cluster.bootstrap())) {
            consumer.assign(List.of(TP));
            consumer.seekToBeginning(List.of(TP));
            long[] first = {-1};
            await("a record from the beginning of " + TOPIC).atMost(DEADLINE).pollInSameThread()
                    .pollInterval(Duration.ZERO).until(() -> {
                        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                            first[0] = r.offset();
                            return true;
                        }
                        return false;
                    });
            return first[0];
        }
    }

    /** Runs Kafka's DeleteRecordsCommand (kafka-delete-records.sh) against the cluster in its own JVM. */
    private ExternalCommand.Result deleteRecords(String... args) {
        Path jars = Path.of(System.getProperty("kafka.tools.dir", "target/kafka-tools")).toAbsolutePath();
        List<String> command = new java.util.ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx128m", NodeProcess.C1_ONLY,
                "-cp", jars + "/*",
                "org.apache.kafka.tools.DeleteRecordsCommand",
                "--bootstrap-server", cluster.bootstrap()));
        command.addAll(List.of(args));
        return ExternalCommand.run(command, "", Duration.ofSeconds(90), workDir);
    }
}
