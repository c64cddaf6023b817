package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 6, "Done when": scrapes {@code /metrics} from every node of a 3-node cluster (3 voters) while a producer
 * runs in the background, and checks that the metrics {@code docs/metrics.md} documents exist on every node and
 * move: records in grows between two scrapes; under-replicated partitions rise on the leaders after a follower is
 * SIGKILLed (once the controller fences it, a session timeout later, and it leaves the ISR) and fall back to 0 once
 * it is restarted and caught up; {@code /health} answers 200 on a serving node.
 */
class MetricsIT {
    private static final String TOPIC = "metrics";
    private static final int PARTITIONS = 3;
    private static final Duration DEADLINE = Duration.ofSeconds(60);
    private static final Duration CATCH_UP_DEADLINE = Duration.ofSeconds(90);
    /** On every node, whatever it hosts or leads. */
    private static final List<String> NODE_METRICS = List.of(
            "tributary_requests_total", "tributary_request_latency_seconds_bucket",
            "tributary_request_latency_seconds_count", "tributary_partitions_led",
            "tributary_partitions_under_replicated", "tributary_partitions_offline", "tributary_isr_shrinks_total",
            "tributary_isr_expands_total", "tributary_leader_elections_total", "tributary_controller_active",
            "tributary_raft_term", "tributary_raft_commit_index", "tributary_raft_applied_index",
            "tributary_partition_high_watermark", "tributary_partition_log_end_offset",
            "tributary_partition_log_size_bytes", "tributary_follower_fetch_lag_records",
            "jvm_memory_used_bytes", "jvm_threads_live_threads", "process_cpu_usage", "process_uptime_seconds");
    /** On the nodes that lead a partition of the topic (the producer and consumer reach only leaders). */
    private static final List<String> TOPIC_METRICS = List.of(
            "tributary_topic_in_records_total", "tributary_topic_in_bytes_total",
            "tributary_topic_out_records_total", "tributary_topic_out_bytes_total");

    @RegisterExtension
    static final ClusterProcesses cluster = new ClusterProcesses(3, 3);

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Test
    void exposesTheDocumentedMetricsOnEveryNodeAndTheyMoveUnderLoadAndAFollowerKill() throws Exception {
        // Given a replicated topic with a producer writing to it in the background and a consumer reading it
        Clients.createTopic(cluster.bootstrap(), TOPIC, PARTITIONS, 3);
        for (int p = 0; p < PARTITIONS; p++) {
            cluster.awaitFullIsr(TOPIC, p, DEADLINE);
        }
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong acked = new AtomicLong();
        Thread producer = new Thread(() -> produce(running, acked), "metrics-it-producer");
        producer.start();
        try {
            await("the background producer gets acks").atMost(DEADLINE).until(() -> acked.get() >= 50);
            consumeSome();

            // Then every node serves /health and every documented metric; exactly one controller is active
            for (int id : cluster.ids()) {
                assertThat(get(id, "/health").statusCode()).as("/health of node %d", id).isEqualTo(200);
            }
            await("every documented metric on every node").atMost(DEADLINE).untilAsserted(() -> {
                for (int id : cluster.ids()) {
                    PrometheusScrape scrape = scrape(id);
                    assertThat(scrape.text()).as("metrics of node %d", id).contains(NODE_METRICS);
                    assertThat(scrape.sum("tributary_raft_term")).as("raft term of node %d", id).isPositive();
                    assertThat(scrape.sum("tributary_raft_applied_index")).as("applied index of %d", id).isPositive();
                }
                for (int leader : leaders()) {
                    assertThat(scrape(leader).text()).as("metrics of leader %d", leader).contains(TOPIC_METRICS);
                }
                assertThat(sumOverNodes(cluster.ids(), "tributary_controller_active")).isEqualTo(1.0);
                assertThat(sumOverNodes(cluster.ids(), "tributary_partitions_led"))
                        .isGreaterThanOrEqualTo(PARTITIONS);
            });

            // Then records in grows between two scrapes
            double before = recordsIn(cluster.ids());
            await("records in grows").atMost(DEADLINE).until(() -> recordsIn(cluster.ids()) > before);
            assertThat(sumOverNodes(cluster.ids(), "tributary_requests_total", "api=\"Produce\"")).isPositive();
            assertThat(sumOverNodes(cluster.ids(), "tributary_topic_out_records_total", "topic=\"" + TOPIC + "\""))
                    .isPositive();
            assertThat(sumOverNodes(cluster.ids(), "tributary_partitions_under_replicated")).isZero();

            // When a node that is not the active controller is SIGKILLed
            int controller = cluster.controllerId();
            int victim = cluster.ids().stream().filter(id -> id != controller).findFirst().orElseThrow();
            Set<Integer> survivors = cluster.ids();
            survivors.remove(victim);
            double shrinksBefore = sumOverNodes(survivors, "tributary_isr_shrinks_total");
            cluster.kill(victim);

            // Then, once it is fenced and leaves the ISRs, the leaders report under-replicated partitions
            await("under-replicated partitions on the leaders after node " + victim + " was killed")
                    .atMost(DEADLINE).pollInterval(Duration.ofMillis(500))
                    .ignoreExceptionsInstanceOf(UncheckedIOException.class)
                    .untilAsserted(() -> {
                        assertThat(sumOverNodes(survivors, "tributary_partitions_under_replicated"))
                                .isGreaterThanOrEqualTo(PARTITIONS);
                        assertThat(sumOverNodes(survivors, "tributary_isr_shrinks_total")).isGreaterThan(shrinksBefore);
                    });
            double afterKill = recordsIn(survivors);
            await("records in grows with a node down").atMost(DEADLINE).until(() -> recordsIn(survivors) > afterKill);

            // When it is restarted and catches up
            cluster.restart(victim);
            for (int p = 0; p < PARTITIONS; p++) {
                cluster.awaitFullIsr(TOPIC, p, CATCH_UP_DEADLINE);
            }

            // Then no partition is under-replicated any more and the restarted node serves metrics and /health
            await("under-replicated partitions back to 0").atMost(CATCH_UP_DEADLINE)
                    .pollInterval(Duration.ofMillis(500))
                    .ignoreExceptionsInstanceOf(UncheckedIOException.class)
                    .untilAsserted(() -> {
                        assertThat(sumOverNodes(cluster.ids(), "tributary_partitions_under_replicated")).isZero();
                        assertThat(sumOverNodes(cluster.ids(), "tributary_isr_expands_total")).isPositive();
                        assertThat(get(victim, "/health").statusCode()).isEqualTo(200);
                        assertThat(scrape(victim).text()).contains(NODE_METRICS);
                    });
        } finally {
            running.set(false);
            producer.join(30_000);
        }
    }

    /** Issue 12: per-topic series do not outlive their topic (one set per topic ever used would grow for good). */
    @Test
    void aDeletedTopicsSeriesLeaveEveryNode() throws Exception {
        // Given a topic produced to, whose per-topic and per-partition series some node exports
        String topic = "short-lived";
        String label = "topic=\"" + topic + "\"";
        Clients.createTopic(cluster.bootstrap(), topic, PARTITIONS, 3);
        try (KafkaProducer<String, String> producer = Clients.producer(cluster.bootstrap(), Map.of())) {
            for (int i = 0; i < 10; i++) {
                producer.send(new ProducerRecord<>(topic, "k" + i, "v" + i)).get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
            }
        }
        await("series of " + topic).atMost(DEADLINE).untilAsserted(() -> assertThat(
                sumOverNodes(cluster.ids(), "tributary_topic_in_records_total", label)).isEqualTo(10.0));

        // When the topic is deleted
        try (Admin admin = Clients.admin(cluster.bootstrap())) {
            admin.deleteTopics(List.of(topic)).all().get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
        }

        // Then no node exports a series of it any more
        await("no series of " + topic + " on any node").atMost(DEADLINE).pollInterval(Duration.ofMillis(500))
                .ignoreExceptionsInstanceOf(UncheckedIOException.class)
                .untilAsserted(() -> {
                    for (int id : cluster.ids()) {
                        assertThat(scrape(id).text()).as("metrics of node %d", id).doesNotContain(label);
                    }
                });
    }

    private void produce(AtomicBoolean running, AtomicLong acked) {
        try (KafkaProducer<String, String> producer = Clients.producer(cluster.bootstrap(), Map.of())) {
            int i = 0;
            while (running.get()) {
                producer.send(new ProducerRecord<>(TOPIC, "k" + i, "v" + i), (metadata, error) -> {
                    if (error == null) {
                        acked.incrementAndGet();
                    }
                });
                i++;
                if (i % 20 == 0) {
                    Thread.sleep(20);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void consumeSome() {
        try (KafkaConsumer<String, String> consumer = Clients.consumer(cluster.bootstrap())) {
            consumer.assign(IntStream.range(0, PARTITIONS).mapToObj(p -> new TopicPartition(TOPIC, p)).toList());
            int[] read = new int[1];
            await("the consumer reads records").atMost(DEADLINE)
                    .until(() -> (read[0] += consumer.poll(Duration.ofMillis(500)).count()) >= 20);
        }
    }

    private Set<Integer> leaders() {
        return cluster.awaitAgreedMetadata(TOPIC).topics().get(TOPIC).partitions().values().stream()
                .map(KafkaRequests.PartitionState::leader).collect(java.util.stream.Collectors.toSet());
    }

    private double recordsIn(Set<Integer> ids) {
        return sumOverNodes(ids, "tributary_topic_in_records_total", "topic=\"" + TOPIC + "\"");
    }

    private double sumOverNodes(Set<Integer> ids, String name) {
        return sumOverNodes(ids, name, "");
    }

    private double sumOverNodes(Set<Integer> ids, String name, String label) {
        double sum = 0;
        for (int id : ids) {
            sum += scrape(id).sum(name, label);
        }
        return sum;
    }

    private PrometheusScrape scrape(int id) {
        return PrometheusScrape.of(cluster.metricsPort(id));
    }

    private HttpResponse<String> get(int id, String path) {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + cluster.metricsPort(id) + path))
                .timeout(Duration.ofSeconds(10)).GET().build();
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException("GET " + path + " from node " + id, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
