package io.tributary.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** Consumer groups on a single real node with real kafka-clients: assignment, rebalance, committed offsets, lag. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConsumerGroupTest {

    private static final String TOPIC = "grouped";

    private InProcessNode node;
    private Admin admin;
    private int metricsPort;

    @BeforeAll
    void start(@TempDir Path dataDir) throws Exception {
        metricsPort = InProcessNode.freePort();
        node = InProcessNode.start(dataDir, Map.of("group.initial.rebalance.delay.ms", "0",
                "offsets.topic.num.partitions", "5", "metrics.listener", "127.0.0.1:" + metricsPort));
        admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, node.bootstrap()));
        admin.createTopics(List.of(new NewTopic(TOPIC, 6, (short) 1))).all().get(30, TimeUnit.SECONDS);
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, node.bootstrap()), new StringSerializer(),
                new StringSerializer())) {
            for (int i = 0; i < 600; i++) {
                producer.send(new ProducerRecord<>(TOPIC, i % 6, "k" + i, "v" + i));
            }
            producer.flush();
        }
    }

    @AfterAll
    void stop() {
        admin.close();
        node.close();
    }

    private KafkaConsumer<String, String> consumer(String group, String assignor) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, node.bootstrap());
        props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        props.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, assignor);
        props.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10_000);
        props.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 500);
        return new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer());
    }

    @Test
    void twoConsumersSplitTheTopicAndTheSurvivorTakesAllAfterAClose() {
        try (KafkaConsumer<String, String> a = consumer("split", "org.apache.kafka.clients.consumer.RangeAssignor");
                KafkaConsumer<String, String> b = consumer("split",
                        "org.apache.kafka.clients.consumer.RangeAssignor")) {
            a.subscribe(List.of(TOPIC));
            b.subscribe(List.of(TOPIC));
            await().atMost(Duration.ofSeconds(60)).until(() -> {
                a.poll(Duration.ofMillis(100));
                b.poll(Duration.ofMillis(100));
                return a.assignment().size() + b.assignment().size() == 6 && !a.assignment().isEmpty()
                        && !b.assignment().isEmpty();
            });
            Set<TopicPartition> union = new HashSet<>(a.assignment());
            union.addAll(b.assignment());
            assertThat(union).hasSize(6);
            assertThat(a.assignment()).doesNotContainAnyElementsOf(b.assignment());
            b.close();
            await().atMost(Duration.ofSeconds(60)).until(() -> {
                a.poll(Duration.ofMillis(100));
                return a.assignment().size() == 6;
            });
        }
    }

    @Test
    void aNewMemberResumesRightAfterTheCommittedOffsetsAndLagIsReported() throws Exception {
        List<ConsumerRecord<String, String>> first = new ArrayList<>();
        try (KafkaConsumer<String, String> c = consumer("resume", "org.apache.kafka.clients.consumer.RangeAssignor")) {
            c.subscribe(List.of(TOPIC));
            await().atMost(Duration.ofSeconds(60)).until(() -> {
                c.poll(Duration.ofMillis(200)).forEach(first::add);
                return first.size() >= 300;
            });
            // Commit half of what was read in partition 0: offset 50.
            c.commitSync(Map.of(new TopicPartition(TOPIC, 0), new OffsetAndMetadata(50)));
            for (int p = 1; p < 6; p++) {
                c.commitSync(Map.of(new TopicPartition(TOPIC, p), new OffsetAndMetadata(100)));
            }
        }
        Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets("resume")
                .partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
        assertThat(committed.get(new TopicPartition(TOPIC, 0)).offset()).isEqualTo(50);
        assertThat(committed.get(new TopicPartition(TOPIC, 3)).offset()).isEqualTo(100);

        List<ConsumerRecord<String, String>> resumed = new ArrayList<>();
        try (KafkaConsumer<String, String> c = consumer("resume", "org.apache.kafka.clients.consumer.RangeAssignor")) {
            c.subscribe(List.of(TOPIC));
            await().atMost(Duration.ofSeconds(60)).until(() -> {
                c.poll(Duration.ofMillis(200)).forEach(resumed::add);
                return resumed.size() >= 50;
            });
        }
        ConsumerRecord<String, String> firstOfPartition0 = resumed.stream().filter(r -> r.partition() == 0)
                .findFirst().orElseThrow();
        assertThat(firstOfPartition0.offset()).isEqualTo(50);
        assertThat(firstOfPartition0.value().getBytes(StandardCharsets.UTF_8)).isNotEmpty();

        // The coordinator exports the group's lag: partition 0 has 100 records and a committed offset of 50.
        java.util.regex.Pattern lag0 = java.util.regex.Pattern.compile(
                "tributary_group_lag_records\\{[^}]*group=\"resume\"[^}]*partition=\"0\"[^}]*topic=\"grouped\"[^}]*} 50\\.0");
        await().atMost(Duration.ofSeconds(20)).until(() -> lag0.matcher(scrape("/metrics")).find());
        assertThat(scrape("/metrics")).contains("tributary_group_state{").contains("jvm_memory_used_bytes");
        assertThat(scrape("/health")).isEqualTo("ok\n");
    }

    private String scrape(String path) throws Exception {
        java.net.http.HttpResponse<String> response = java.net.http.HttpClient.newHttpClient().send(
                java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + metricsPort + path))
                        .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        return response.body();
    }
}
