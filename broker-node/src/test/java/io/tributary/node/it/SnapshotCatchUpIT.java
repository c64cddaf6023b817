package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tributary.node.it.KafkaRequests.MetadataView;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.Uuid;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 3, "Done when", last clause: the controller node, killed with SIGKILL and restarted, rejoins from a snapshot
 * after the log was purged.
 *
 * <p>Three voters that snapshot every {@value #SNAPSHOT_INTERVAL} committed records, purge their Ratis log up to
 * the snapshot and roll log segments after {@value #SEGMENT_BYTES} bytes (Ratis purges closed segments only, so
 * with the default segment size a test-sized metadata log would never be purged). The test does not take the
 * purge on trust: it reads the surviving voters' segment file names until neither holds an entry the killed node
 * could still need, so that node can only catch up by installing a snapshot.
 */
class SnapshotCatchUpIT {
    private static final int NODES = 3;
    private static final int SNAPSHOT_INTERVAL = 20;
    private static final int SEGMENT_BYTES = 8 * 1024;
    private static final int BATCH = 10;
    /** A bound on the topics created while waiting for the purge, so a log that never purges fails the test. */
    private static final int MAX_TOPICS = 400;
    private static final Duration PURGE_DEADLINE = Duration.ofSeconds(120);
    private static final Duration CREATE_DEADLINE = Duration.ofSeconds(60);

    @RegisterExtension
    static final ClusterProcesses cluster = new ClusterProcesses(NODES, NODES, Map.of(
            "metadata.snapshot.interval.records", Integer.toString(SNAPSHOT_INTERVAL),
            "metadata.log.segment.bytes", Integer.toString(SEGMENT_BYTES)));

    @Test
    void restartedControllerRejoinsFromASnapshotAfterTheLogWasPurged() {
        // Given the controller node was SIGKILLed, a new controller is active and has fenced it: the survivors'
        // logs now reach past anything the killed node has (the fencing record came after it died)
        int killed = cluster.controllerId();
        cluster.kill(killed);
        cluster.awaitHealthy();
        Map<Integer, Long> segmentInUse = new TreeMap<>();
        for (int survivor : cluster.liveIds()) {
            OptionalLong start = RatisLogSegments.newestSegmentStart(ratisDir(survivor));
            assertThat(start).as("Ratis log segments of voter %d under %s", survivor, ratisDir(survivor)).isPresent();
            segmentInUse.put(survivor, start.getAsLong());
        }

        // When metadata is committed until every survivor has purged the segment it was writing then
        List<String> created = new ArrayList<>();
        await("voters " + segmentInUse.keySet() + " purge their logs past the segments starting at " + segmentInUse)
                .atMost(PURGE_DEADLINE)
                .pollInSameThread() // the condition creates topics and records them in a plain list
                .pollInterval(Duration.ZERO)
                .until(() -> {
                    if (purgedPast(segmentInUse)) {
                        return true;
                    }
                    assertThat(created.size())
                            .as("topics created while the oldest log indexes stayed at %s, not past %s (is the log "
                                    + "purged up to the snapshot, and are segments rolled by size?)",
                                    oldestIndexes(segmentInUse), segmentInUse)
                            .isLessThan(MAX_TOPICS);
                    List<NewTopic> batch = IntStream.range(created.size(), created.size() + BATCH)
                            .mapToObj(i -> new NewTopic("while-down-" + i, 1, (short) 1)).toList();
                    Clients.createTopicsRetrying(cluster.bootstrap(), batch, CREATE_DEADLINE);
                    batch.forEach(topic -> created.add(topic.name()));
                    return false;
                });
        System.out.printf("SnapshotCatchUpIT: %d topics created before the survivors purged past %s%n",
                created.size(), segmentInUse);
        Map<String, Uuid> expected = topicIds(cluster.awaitAgreedMetadata(created.toArray(String[]::new)));

        // And the killed node is restarted
        cluster.restart(killed);

        // Then it rejoins as a live broker and knows every topic created while it was down, with the same ids
        assertThat(cluster.awaitHealthy().liveBrokers()).contains(killed);
        await("restarted node " + killed + " knows the " + created.size() + " topics created while it was down")
                .atMost(ClusterProcesses.HEALTH_DEADLINE)
                .pollInterval(Duration.ofMillis(200))
                .ignoreExceptionsInstanceOf(UncheckedIOException.class)
                .untilAsserted(() -> assertThat(topicIds(KafkaRequests.metadata(cluster.port(killed), created)))
                        .isEqualTo(expected));
    }

    /** True once every voter in {@code segmentInUse} keeps no entry below the end of the segment named there. */
    private static boolean purgedPast(Map<Integer, Long> segmentInUse) {
        return segmentInUse.entrySet().stream().allMatch(e -> {
            OptionalLong oldest = RatisLogSegments.oldestIndex(ratisDir(e.getKey()));
            return oldest.isPresent() && oldest.getAsLong() > e.getValue();
        });
    }

    private static Map<Integer, OptionalLong> oldestIndexes(Map<Integer, Long> voters) {
        Map<Integer, OptionalLong> oldest = new TreeMap<>();
        voters.keySet().forEach(id -> oldest.put(id, RatisLogSegments.oldestIndex(ratisDir(id))));
        return oldest;
    }

    private static Path ratisDir(int nodeId) {
        return cluster.node(nodeId).dataDir().resolve("data");
    }

    private static Map<String, Uuid> topicIds(MetadataView view) {
        return view.topics().entrySet().stream()
                .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().id(), (a, b) -> a, TreeMap::new));
    }
}
