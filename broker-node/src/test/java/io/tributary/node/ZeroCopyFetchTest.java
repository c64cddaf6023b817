package io.tributary.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tributary.storage.FileSlices;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Consumers are served from segment-file slices (sendfile), not heap copies: a consumer reads every record back in
 * order, the node opened slices for it, and every slice is closed once its response is written, including those of
 * a long poll's reads that were not sent (a fetch.min.bytes the log cannot fill reads, waits and reads again).
 */
class ZeroCopyFetchTest {
    private static final int RECORDS = 5_000;

    @Test
    void consumersReadFromFileSlicesThatAreAllClosedAfterwards(@TempDir Path dataDir) throws Exception {
        try (InProcessNode node = InProcessNode.start(dataDir, Map.of());
                Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, node.bootstrap()))) {
            admin.createTopics(List.of(new NewTopic("zero-copy", 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(Map.of(
                    ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, node.bootstrap()), new StringSerializer(),
                    new StringSerializer())) {
                List<Future<RecordMetadata>> acks = new ArrayList<>();
                for (int i = 0; i < RECORDS; i++) {
                    acks.add(producer.send(new ProducerRecord<>("zero-copy", "k" + i, "value-" + i)));
                }
                for (Future<RecordMetadata> ack : acks) {
                    ack.get(30, TimeUnit.SECONDS);
                }
            }
            FileSlices slices = node.replicas().fileSlices();
            long openedBefore = slices.opened();
            long filesBefore = slices.filesOpened();

            // A small max.partition.fetch.bytes (many fetches) and a fetch.min.bytes no read reaches, so each long
            // poll reads, waits for more, then reads again at its max wait: the first read is never sent.
            List<String> values = new ArrayList<>();
            try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of(
                    ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, node.bootstrap(),
                    ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 16 * 1024,
                    ConsumerConfig.FETCH_MIN_BYTES_CONFIG, 10 * 1024 * 1024,
                    ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 50), new StringDeserializer(),
                    new StringDeserializer())) {
                TopicPartition tp = new TopicPartition("zero-copy", 0);
                consumer.assign(List.of(tp));
                consumer.seekToBeginning(List.of(tp));
                await().atMost(Duration.ofSeconds(60)).until(() -> {
                    for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(100))) {
                        values.add(r.value());
                    }
                    return values.size() >= RECORDS;
                });
            }
            assertThat(values).hasSize(RECORDS);
            for (int i = 0; i < RECORDS; i++) {
                assertThat(values.get(i)).isEqualTo("value-" + i);
            }
            assertThat(slices.opened() - openedBefore).as("fetches served from segment-file slices")
                    .isGreaterThan(1);
            assertThat(slices.filesOpened() - filesBefore).as("the active segment's slices share one file handle")
                    .isEqualTo(1);
            await("every slice closed").atMost(Duration.ofSeconds(10)).until(() -> slices.openCount() == 0);
        }
    }
}
