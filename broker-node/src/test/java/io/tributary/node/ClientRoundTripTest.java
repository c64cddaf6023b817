package io.tributary.node;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Real kafka-clients against a real node: a default producer (idempotent, acks=all) sends 100,000 keyed records per
 * compression codec; a consumer reads every record back byte-exact and in order; offsets by time and the
 * beginning/end offsets are right; headers, null keys and values and a 900 KB record round-trip.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClientRoundTripTest {

    private static final int RECORDS = 100_000;
    private static final int PARTITIONS = 3;
    private static final long BASE_TIMESTAMP = 1_700_000_000_000L;

    private InProcessNode node;
    private Admin admin;

    @BeforeAll
    void startNode(@TempDir Path dataDir) throws Exception {
        node = InProcessNode.start(dataDir, Map.of());
        admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, node.bootstrap()));
    }

    @AfterAll
    void stopNode() {
        admin.close();
        node.close();
    }

    /** Given a 3-partition topic, when 100,000 keyed records are produced with a codec, then all read back exact. */
    @ParameterizedTest
    @ValueSource(strings = {"none", "gzip", "snappy", "lz4", "zstd"})
    void producesAndConsumesEveryRecordExactlyPerCodec(String codec) throws Exception {
        String topic = "round-trip-" + codec;
        admin.createTopics(List.of(new NewTopic(topic, PARTITIONS, (short) 1))).all().get(30, TimeUnit.SECONDS);

        byte[][] keys = new byte[RECORDS][];
        byte[][] values = new byte[RECORDS][];
        Random random = new Random(42);
        List<Future<RecordMetadata>> acks = new ArrayList<>(RECORDS);
        try (KafkaProducer<byte[], byte[]> producer = producer(Map.of(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec))) {
            for (int i = 0; i < RECORDS; i++) {
                keys[i] = ("key-" + (i % 997)).getBytes(StandardCharsets.UTF_8);
                values[i] = new byte[20 + random.nextInt(200)];
                random.nextBytes(values[i]);
                acks.add(producer.send(new ProducerRecord<>(topic, null, BASE_TIMESTAMP + i, keys[i], values[i])));
            }
            producer.flush();
        }
        // Where each record landed, as acknowledged: partition -> offset -> record index.
        Map<Integer, Map<Long, Integer>> acked = new HashMap<>();
        for (int i = 0; i < RECORDS; i++) {
            RecordMetadata md = acks.get(i).get();
            acked.computeIfAbsent(md.partition(), p -> new HashMap<>()).put(md.offset(), i);
        }
        assertThat(acked.keySet()).containsExactlyInAnyOrder(0, 1, 2);

        List<TopicPartition> partitions = List.of(new TopicPartition(topic, 0), new TopicPartition(topic, 1),
                new TopicPartition(topic, 2));
        Map<String, Set<Integer>> partitionsOfKey = new HashMap<>();
        Map<Integer, Long> nextOffset = new HashMap<>();
        int read = 0;
        try (KafkaConsumer<byte[], byte[]> consumer = consumer()) {
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (read < RECORDS && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    long expectedOffset = nextOffset.getOrDefault(r.partition(), 0L);
                    assertThat(r.offset()).as("offsets in partition %d are dense and in order", r.partition())
                            .isEqualTo(expectedOffset);
                    nextOffset.put(r.partition(), expectedOffset + 1);
                    Integer index = acked.get(r.partition()).get(r.offset());
                    assertThat(index).as("record at %d/%d was acknowledged there", r.partition(), r.offset())
                            .isNotNull();
                    assertThat(r.key()).isEqualTo(keys[index]);
                    assertThat(r.value()).isEqualTo(values[index]);
                    assertThat(r.timestamp()).isEqualTo(BASE_TIMESTAMP + index);
                    partitionsOfKey.computeIfAbsent(new String(r.key(), StandardCharsets.UTF_8),
                            k -> new HashSet<>()).add(r.partition());
                    read++;
                }
            }
            assertThat(read).isEqualTo(RECORDS);
            assertThat(partitionsOfKey.values()).allSatisfy(p -> assertThat(p).hasSize(1));

            Map<TopicPartition, Long> begin = consumer.beginningOffsets(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            for (TopicPartition tp : partitions) {
                assertThat(begin.get(tp)).isZero();
                assertThat(end.get(tp)).isEqualTo((long) acked.get(tp.partition()).size());
            }
            assertOffsetsForTimes(consumer, partitions, acked);
        }
    }

    private static void assertOffsetsForTimes(KafkaConsumer<byte[], byte[]> consumer, List<TopicPartition> partitions,
            Map<Integer, Map<Long, Integer>> acked) {
        for (long probe : new long[] {BASE_TIMESTAMP - 5, BASE_TIMESTAMP + 12_345, BASE_TIMESTAMP + 77_777,
                BASE_TIMESTAMP + RECORDS - 1, BASE_TIMESTAMP + RECORDS + 10}) {
            Map<TopicPartition, Long> query = new HashMap<>();
            partitions.forEach(tp -> query.put(tp, probe));
            Map<TopicPartition, OffsetAndTimestamp> found = consumer.offsetsForTimes(query);
            for (TopicPartition tp : partitions) {
                // Oracle: the smallest offset whose record timestamp (BASE + index) is at or after the probe.
                Long expectedOffset = null;
                long expectedTimestamp = -1;
                for (Map.Entry<Long, Integer> e : acked.get(tp.partition()).entrySet()) {
                    long ts = BASE_TIMESTAMP + e.getValue();
                    if (ts >= probe && (expectedOffset == null || e.getKey() < expectedOffset)) {
                        expectedOffset = e.getKey();
                        expectedTimestamp = ts;
                    }
                }
                if (expectedOffset == null) {
                    assertThat(found.get(tp)).as("no record at or after %d in %s", probe, tp).isNull();
                } else {
                    assertThat(found.get(tp)).as("offset for time %d in %s", probe, tp).isNotNull();
                    assertThat(found.get(tp).offset()).as("offset for time %d in %s", probe, tp)
                            .isEqualTo(expectedOffset);
                    assertThat(found.get(tp).timestamp()).isEqualTo(expectedTimestamp);
                }
            }
        }
    }

    /** Given headers, null keys and values and a 900 KB value, when produced and consumed, then they are exact. */
    @Test
    void roundTripsHeadersNullsAndLargeRecords() throws Exception {
        String topic = "edge-records";
        admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
        byte[] large = new byte[900 * 1024];
        new Random(7).nextBytes(large);
        List<ProducerRecord<byte[], byte[]>> sent = List.of(
                new ProducerRecord<>(topic, 0, null, "v-no-key".getBytes(StandardCharsets.UTF_8)),
                new ProducerRecord<>(topic, 0, "k-no-value".getBytes(StandardCharsets.UTF_8), null),
                new ProducerRecord<>(topic, 0, null, null),
                new ProducerRecord<>(topic, 0, 123L, "k-headers".getBytes(StandardCharsets.UTF_8), new byte[0],
                        List.<Header>of(new RecordHeader("h1", "one".getBytes(StandardCharsets.UTF_8)),
                                new RecordHeader("h2", null),
                                new RecordHeader("h1", new byte[] {0, 1, 2}))),
                new ProducerRecord<>(topic, 0, "big".getBytes(StandardCharsets.UTF_8), large));
        try (KafkaProducer<byte[], byte[]> producer = producer(Map.of())) {
            for (ProducerRecord<byte[], byte[]> r : sent) {
                producer.send(r).get(30, TimeUnit.SECONDS);
            }
        }
        List<ConsumerRecord<byte[], byte[]>> received = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = consumer()) {
            TopicPartition tp = new TopicPartition(topic, 0);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (received.size() < sent.size() && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(500)).forEach(received::add);
            }
        }
        assertThat(received).hasSize(sent.size());
        for (int i = 0; i < sent.size(); i++) {
            ProducerRecord<byte[], byte[]> s = sent.get(i);
            ConsumerRecord<byte[], byte[]> r = received.get(i);
            assertThat(r.offset()).isEqualTo(i);
            assertThat(r.key()).isEqualTo(s.key());
            assertThat(r.value()).isEqualTo(s.value());
            List<Header> expectedHeaders = Arrays.asList(s.headers().toArray());
            List<Header> actualHeaders = Arrays.asList(r.headers().toArray());
            assertThat(actualHeaders).hasSameSizeAs(expectedHeaders);
            for (int h = 0; h < expectedHeaders.size(); h++) {
                assertThat(actualHeaders.get(h).key()).isEqualTo(expectedHeaders.get(h).key());
                assertThat(actualHeaders.get(h).value()).isEqualTo(expectedHeaders.get(h).value());
            }
        }
        assertThat(received.get(3).timestamp()).isEqualTo(123L);
    }

    private KafkaProducer<byte[], byte[]> producer(Map<String, Object> overrides) {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, node.bootstrap());
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        props.putAll(overrides);
        return new KafkaProducer<>(props);
    }

    private KafkaConsumer<byte[], byte[]> consumer() {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, node.bootstrap());
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        return new KafkaConsumer<>(props);
    }

}
