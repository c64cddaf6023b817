package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.node.TributaryNode;
import io.tributary.node.it.KafkaRequests.PartitionState;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The disk under a leader fails a write: the node halts with exit code {@value TributaryNode#EXIT_DISK_FAILED}
 * instead of going on with a log whose files are in an unknown state (Kafka halts a broker whose last log directory
 * went offline). The partition moves to another ISR member, the idempotent acks=all producer's sends all succeed, and
 * once the node is restarted on its recovered log every acknowledged record is there exactly once, on every replica.
 *
 * <p>The failure is real: the leader's segment file is made immutable ({@code chattr +i}, which ext4 and xfs
 * support), so the kernel answers the node's next write with EPERM, as it answers EIO for a failing disk. Skipped
 * where that does not work (not root, another file system, no chattr), except under {@code CI=true}.
 */
class DiskFailureIT {
    private static final int NODES = 3;
    private static final String TOPIC = "disk-failure";
    private static final int BEFORE = 100;
    private static final int AFTER = 100;
    private static final Duration HALT_DEADLINE = Duration.ofSeconds(60);
    private static final Duration CATCH_UP_DEADLINE = Duration.ofSeconds(90);

    @RegisterExtension
    static final ClusterProcesses cluster = new ClusterProcesses(NODES, NODES);

    @Test
    void aLeaderWhoseWriteFailsHaltsAndNothingAcknowledgedIsLost() throws Exception {
        String unsupported = immutableFilesUnsupported();
        if (!"true".equals(System.getenv("CI"))) {
            Assumptions.assumeTrue(unsupported == null, unsupported);
        } else {
            assertThat(unsupported).as("chattr +i fails writes through an open file in CI (root, ext4)").isNull();
        }
        // Given a partition with three in-sync replicas and acknowledged records
        Clients.createTopic(cluster.bootstrap(), TOPIC, 1, NODES, Map.of("min.insync.replicas", "2"));
        PartitionState initial = cluster.awaitFullIsr(TOPIC, 0, ClusterProcesses.HEALTH_DEADLINE);
        int leader = initial.leader();
        List<String> expected = new ArrayList<>();
        try (KafkaProducer<String, String> producer = Clients.producer(cluster.bootstrap(), Map.of(
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                ProducerConfig.LINGER_MS_CONFIG, 0))) {
            for (Future<RecordMetadata> sent : send(producer, "before", BEFORE, expected)) {
                sent.get(Clients.CLIENT_DEADLINE.toSeconds(), TimeUnit.SECONDS);
            }
            List<Path> segments = cluster.node(leader).segmentFiles(TOPIC, 0);
            assertThat(segments).as("segments of the leader, node %d", leader).isNotEmpty();
            Path active = segments.get(segments.size() - 1);

            // When its segment file refuses writes and more records are sent
            chattr("+i", active);
            try {
                List<Future<RecordMetadata>> after = send(producer, "after", AFTER, expected);

                // Then the leader halts, with the disk failure's exit code
                OptionalInt exit = cluster.node(leader).awaitExitCode(HALT_DEADLINE);
                assertThat(exit).as("exit code of node %d after its write failed", leader)
                        .hasValue(TributaryNode.EXIT_DISK_FAILED);
                assertThat(cluster.node(leader).logTail(200)).contains("halting with exit code "
                        + TributaryNode.EXIT_DISK_FAILED);
                // and every send is acknowledged by the new leader (the producer retries there)
                for (Future<RecordMetadata> sent : after) {
                    sent.get(Clients.CLIENT_DEADLINE.toSeconds(), TimeUnit.SECONDS);
                }
            } finally {
                chattr("-i", active);
            }
        }

        // And restarted, the node recovers its log and catches up: every acknowledged record once, on every replica
        cluster.restart(leader);
        PartitionState after = cluster.awaitFullIsr(TOPIC, 0, CATCH_UP_DEADLINE);
        assertThat(after.isr()).containsExactlyInAnyOrderElementsOf(initial.replicas());
        cluster.awaitIdenticalLogs(TOPIC, 0, new java.util.TreeSet<>(initial.replicas()), CATCH_UP_DEADLINE);
        List<String> read = Clients.readValues(cluster.bootstrap(), Map.of(), TOPIC, expected.size());
        assertThat(read).as("records read back").containsExactlyInAnyOrderElementsOf(expected);
    }

    private static List<Future<RecordMetadata>> send(KafkaProducer<String, String> producer, String prefix,
            int count, List<String> expected) {
        List<Future<RecordMetadata>> sent = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String value = prefix + "-" + i;
            expected.add(value);
            sent.add(producer.send(new ProducerRecord<>(TOPIC, 0, null, value)));
        }
        return sent;
    }

    /**
     * Null if {@code chattr +i} makes a write through an already open file fail here (it needs root, or
     * CAP_LINUX_IMMUTABLE, a file system with the flag, and a kernel that checks it on write), else why not.
     */
    private static String immutableFilesUnsupported() throws Exception {
        if (!ExternalCommand.onPath("chattr")) {
            return "chattr is not on PATH (e2fsprogs)";
        }
        Path probe = Files.createTempFile("disk-failure-probe", ".log"); // where the cluster's data dirs are
        try (FileChannel channel = FileChannel.open(probe, StandardOpenOption.WRITE)) {
            Process chattr = new ProcessBuilder("chattr", "+i", probe.toString()).redirectErrorStream(true).start();
            if (!chattr.waitFor(30, TimeUnit.SECONDS) || chattr.exitValue() != 0) {
                chattr.destroyForcibly();
                return "chattr +i " + probe + " failed: " + new String(chattr.getInputStream().readAllBytes());
            }
            try {
                channel.write(ByteBuffer.wrap(new byte[] {1}), 0);
                return "a write to a file made immutable after it was opened succeeded (kernel too old?)";
            } catch (IOException expected) {
                return null;
            } finally {
                chattr("-i", probe);
            }
        } finally {
            Files.delete(probe);
        }
    }

    private static void chattr(String flag, Path file) throws Exception {
        Process chattr = new ProcessBuilder("chattr", flag, file.toString()).redirectErrorStream(true).start();
        try {
            assertThat(chattr.waitFor(30, TimeUnit.SECONDS)).as("chattr %s %s ended", flag, file).isTrue();
            assertThat(chattr.exitValue()).as("chattr %s %s: %s", flag, file,
                    new String(chattr.getInputStream().readAllBytes())).isZero();
        } finally {
            chattr.destroyForcibly(); // only if it overran
        }
    }
}
