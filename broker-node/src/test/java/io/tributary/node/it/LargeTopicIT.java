package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A single node at default settings creates a topic with 2,000 partitions and fences nothing afterwards. Before, it
 * opened the logs on the thread that applied the metadata, one after another, missed its own session meanwhile,
 * fenced itself, and did so again in a loop. The time it takes is printed (measured in docs/reliability.md), not
 * asserted.
 */
class LargeTopicIT {

    private static final int PARTITIONS = 2_000;

    @TempDir
    Path dir;
    private NodeProcess node;

    @AfterEach
    void close() {
        if (node != null) {
            node.close();
        }
    }

    @Test
    void createsTwoThousandPartitionsAndFencesNothing() throws Exception {
        node = NodeProcess.start(1, dir, Map.of());
        long logStart = node.logSize();
        try (Admin admin = Clients.admin(node.bootstrap())) {
            long startNs = System.nanoTime();
            admin.createTopics(List.of(new NewTopic("large", PARTITIONS, (short) 1))).all().get(120, TimeUnit.SECONDS);
            System.out.printf("created %d partitions on one node in %d ms%n", PARTITIONS,
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs));
            assertThat(admin.describeTopics(List.of("large")).allTopicNames().get(60, TimeUnit.SECONDS)
                    .get("large").partitions()).hasSize(PARTITIONS);

            // Two session timeouts (3 s each at defaults) later the node is still unfenced and never fenced itself.
            org.awaitility.Awaitility.await().pollDelay(Duration.ofSeconds(6)).atMost(Duration.ofSeconds(30))
                    .until(() -> admin.describeCluster(new DescribeClusterOptions().includeFencedBrokers(true))
                            .nodes().get(10, TimeUnit.SECONDS).size() == 1);
            assertThat(admin.describeCluster(new DescribeClusterOptions().includeFencedBrokers(true)).nodes()
                    .get(10, TimeUnit.SECONDS)).allSatisfy(n -> assertThat(n.isFenced()).isFalse());
        }
        assertThat(node.logSince(logStart)).doesNotContain("fencing brokers").doesNotContain("registering again");
    }
}
