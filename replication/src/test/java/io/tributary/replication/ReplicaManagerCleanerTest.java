package io.tributary.replication;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tributary.metadata.MetadataImage;
import io.tributary.metadata.Uuids;
import io.tributary.proto.metadata.CreateTopicRecord;
import io.tributary.proto.metadata.MetadataRecord;
import io.tributary.proto.metadata.PartitionRecord;
import io.tributary.proto.metadata.RegisterBrokerRecord;
import io.tributary.proto.metadata.UnfenceBrokerRecord;
import io.tributary.storage.LogConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.SimpleRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The replica manager's log cleaner with {@code log.cleaner.threads=3}: every compacted log is compacted (each by one
 * thread at a time), a log with {@code cleanup.policy=delete} never is, the threads are named
 * {@code log-cleaner-<n>}, and {@link ReplicaManager#close} stops them.
 */
class ReplicaManagerCleanerTest {
    private static final int NODE = 1;
    private static final int COMPACTED_PARTITIONS = 5;

    @TempDir
    Path dir;
    private ReplicaManager replicas;

    @AfterEach
    void close() {
        if (replicas != null) {
            replicas.close();
        }
    }

    @Test
    void severalCleanerThreadsCompactEveryCompactedLogAndStopOnClose() throws Exception {
        replicas = new ReplicaManager(NODE, dir, LogConfig.DEFAULTS, Clock.systemUTC(), ReplicationConfig.DEFAULTS);
        MetadataImage image = image();
        replicas.onImage(MetadataImage.EMPTY, image);
        for (String topic : List.of("compacted", "deleted")) {
            int partitions = topic.equals("compacted") ? COMPACTED_PARTITIONS : 1;
            for (int p = 0; p < partitions; p++) {
                for (int i = 0; i < 200; i++) {
                    replicas.appendAsLeader(new PartitionId(topic, p), -1, MemoryRecords.withRecords(Compression.NONE,
                            new SimpleRecord(System.currentTimeMillis(), bytes("k" + (i % 4)), bytes("v" + i)))
                            .buffer(), 1);
                }
            }
        }

        replicas.startCleaner(new LogCleanerConfig(true, 20, 1 << 20, LogCleanerConfig.UNLIMITED_IO, 3));

        await("every compacted log cleaned").atMost(Duration.ofSeconds(30)).until(() -> {
            for (int p = 0; p < COMPACTED_PARTITIONS; p++) {
                if (replicas.partition(new PartitionId("compacted", p)).log().lastCleanMs() < 0) {
                    return false;
                }
            }
            return true;
        });
        assertThat(replicas.partition(new PartitionId("deleted", 0)).log().lastCleanMs()).isEqualTo(-1);
        assertThat(cleanerThreads()).containsExactlyInAnyOrder("log-cleaner-0", "log-cleaner-1", "log-cleaner-2");

        replicas.close();
        replicas = null;
        await("cleaner threads stopped").atMost(Duration.ofSeconds(10)).until(() -> cleanerThreads().isEmpty());
    }

    @Test
    void dynamicCleanerThreadsAndTopicDefaultsApplyWithoutARestart() throws Exception {
        // Given a running node with one cleaner thread and no dynamic configs
        replicas = new ReplicaManager(NODE, dir, LogConfig.DEFAULTS, Clock.systemUTC(), ReplicationConfig.DEFAULTS);
        MetadataImage image = image();
        replicas.onImage(MetadataImage.EMPTY, image);
        replicas.startCleaner(new LogCleanerConfig(true, 20, 1 << 20, LogCleanerConfig.UNLIMITED_IO, 1));
        assertThat(replicas.partition(new PartitionId("deleted", 0)).log().config().retentionMs())
                .isEqualTo(LogConfig.DEFAULTS.retentionMs());

        // When the cluster-wide default sets two cleaner threads and log.retention.ms, and this broker its own
        // retention (KIP-226)
        MetadataImage dynamic = image
                .apply(brokerConfigs("", "log.cleaner.threads", "2", "log.retention.ms", "60000"), 5)
                .apply(brokerConfigs("1", "log.retention.ms", "120000", "log.message.timestamp.type",
                        "LogAppendTime"), 6);
        replicas.onImage(image, dynamic);

        // Then the cleaner runs two threads, and the open logs take the broker's own values
        assertThat(replicas.cleanerConfig().threads()).isEqualTo(2);
        await("two cleaner threads").atMost(Duration.ofSeconds(10)).until(() -> cleanerThreads().size() == 2);
        assertThat(replicas.partition(new PartitionId("deleted", 0)).log().config().retentionMs()).isEqualTo(120_000);
        assertThat(replicas.partition(new PartitionId("deleted", 0)).log().messageFormat().logAppendTime()).isTrue();
        assertThat(replicas.defaultLogConfig().retentionMs()).isEqualTo(120_000);
        assertThat(replicas.staticLogConfig().retentionMs()).isEqualTo(LogConfig.DEFAULTS.retentionMs());
    }

    private static MetadataRecord brokerConfigs(String resource, String... keyValues) {
        io.tributary.proto.metadata.BrokerConfigChangeRecord.Builder r =
                io.tributary.proto.metadata.BrokerConfigChangeRecord.newBuilder().setResourceName(resource);
        for (int i = 0; i < keyValues.length; i += 2) {
            r.putSet(keyValues[i], keyValues[i + 1]);
        }
        return MetadataRecord.newBuilder().setBrokerConfigChange(r).build();
    }

    private static Set<String> cleanerThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName)
                .filter(name -> name.startsWith("log-cleaner")).collect(Collectors.toSet());
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Node 1 alone; topic "compacted" (small segments, compacted at any dirty ratio) and topic "deleted". */
    private static MetadataImage image() {
        MetadataImage image = MetadataImage.EMPTY.apply(MetadataRecord.newBuilder().setRegisterBroker(
                RegisterBrokerRecord.newBuilder().setBrokerId(NODE).setIncarnationId("i1")).build(), 1);
        long epoch = image.brokers().get(NODE).brokerEpoch();
        image = image.apply(MetadataRecord.newBuilder().setUnfenceBroker(UnfenceBrokerRecord.newBuilder()
                .setBrokerId(NODE).setBrokerEpoch(epoch)).build(), 2);
        CreateTopicRecord.Builder compacted = CreateTopicRecord.newBuilder().setName("compacted")
                .setTopicId(Uuids.toProto(UUID.randomUUID())).putConfigs("cleanup.policy", "compact")
                .putConfigs("segment.bytes", "1024").putConfigs("min.cleanable.dirty.ratio", "0.01");
        for (int p = 0; p < COMPACTED_PARTITIONS; p++) {
            compacted.addPartitions(partition(p));
        }
        image = image.apply(MetadataRecord.newBuilder().setCreateTopic(compacted).build(), 3);
        return image.apply(MetadataRecord.newBuilder().setCreateTopic(CreateTopicRecord.newBuilder().setName("deleted")
                .setTopicId(Uuids.toProto(UUID.randomUUID())).putConfigs("segment.bytes", "1024")
                .addPartitions(partition(0))).build(), 4);
    }

    private static PartitionRecord partition(int p) {
        return PartitionRecord.newBuilder().setPartition(p).addReplicas(NODE).addIsr(NODE).setLeader(NODE)
                .setLeaderEpoch(1).setPartitionEpoch(1).build();
    }
}
