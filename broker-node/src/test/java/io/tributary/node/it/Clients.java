package io.tributary.node.it;

import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** kafka-clients factories and small blocking helpers shared by the process-level tests. */
final class Clients {
    static final Duration CLIENT_DEADLINE = Duration.ofSeconds(60);

    private Clients() {}

    static Admin admin(String bootstrap) {
        return Admin.create(Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000));
    }

    /** An idempotent {@code acks=all} producer of string keys and values; {@code overrides} win. */
    static KafkaProducer<String, String> producer(String bootstrap, Map<String, Object> overrides) {
        Map<String, Object> config = new java.util.HashMap<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                ProducerConfig.LINGER_MS_CONFIG, 5,
                ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000,
                ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30_000,
                ProducerConfig.MAX_BLOCK_MS_CONFIG, 30_000));
        config.putAll(overrides);
        return new KafkaProducer<>(config, new StringSerializer(), new StringSerializer());
    }

    /** A consumer without a group: tests {@code assign} and seek themselves. */
    static KafkaConsumer<String, String> consumer(String bootstrap) {
        return new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000,
                ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000),
                new StringDeserializer(), new StringDeserializer());
    }

    static void createTopic(String bootstrap, String topic, int partitions) {
        createTopic(bootstrap, topic, partitions, 1);
    }

    static void createTopic(String bootstrap, String topic, int partitions, int replicationFactor) {
        createTopic(bootstrap, topic, partitions, replicationFactor, Map.of());
    }

    /** Creates {@code topic} with the given topic-level {@code configs} (e.g. {@code min.insync.replicas}). */
    static void createTopic(String bootstrap, String topic, int partitions, int replicationFactor,
            Map<String, String> configs) {
        try (Admin admin = admin(bootstrap)) {
            admin.createTopics(List.of(new NewTopic(topic, partitions, (short) replicationFactor).configs(configs)))
                    .all()
                    .get(CLIENT_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException e) {
            throw new AssertionError("cannot create topic " + topic + " with " + partitions + " partitions", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /**
     * Creates {@code topics}, trying again after a retriable failure or a timeout (a controller fail-over) until
     * {@code deadline}. A topic that already exists when a later attempt runs counts as created: an attempt that
     * timed out may have committed it. One that exists at the first attempt is an error.
     */
    static void createTopicsRetrying(String bootstrap, List<NewTopic> topics, Duration deadline) {
        AtomicInteger attempts = new AtomicInteger();
        long deadlineNs = System.nanoTime() + deadline.toNanos();
        await("creating " + topics.stream().map(NewTopic::name).toList())
                .atMost(deadline)
                .pollInterval(Duration.ofMillis(500))
                .until(() -> {
                    boolean retry = attempts.incrementAndGet() > 1;
                    boolean allCreated = true;
                    try (Admin admin = admin(bootstrap)) {
                        Map<String, KafkaFuture<Void>> results = admin.createTopics(topics).values();
                        for (Map.Entry<String, KafkaFuture<Void>> result : results.entrySet()) {
                            long leftMs = Math.max(1, (deadlineNs - System.nanoTime()) / 1_000_000);
                            try {
                                result.getValue().get(Math.min(leftMs, 30_000), TimeUnit.MILLISECONDS);
                            } catch (ExecutionException e) {
                                if (e.getCause() instanceof TopicExistsException && retry) {
                                    continue;
                                }
                                if (!(e.getCause() instanceof RetriableException)) {
                                    throw new AssertionError("cannot create topic " + result.getKey(), e);
                                }
                                allCreated = false;
                            } catch (TimeoutException e) {
                                allCreated = false;
                            }
                        }
                    }
                    return allCreated;
                });
    }

    /** The error CreateTopics answers for {@code topic}, or null if it was created. */
    static Throwable createTopicError(String bootstrap, String topic, int partitions, int replicationFactor) {
        try (Admin admin = admin(bootstrap)) {
            admin.createTopics(List.of(new NewTopic(topic, partitions, (short) replicationFactor)))
                    .all()
                    .get(CLIENT_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
            return null;
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (TimeoutException e) {
            throw new AssertionError("CreateTopics for " + topic + " got no answer", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    static List<TopicPartition> partitions(String topic, int count) {
        List<TopicPartition> partitions = new ArrayList<>();
        for (int partition = 0; partition < count; partition++) {
            partitions.add(new TopicPartition(topic, partition));
        }
        return partitions;
    }

    /**
     * Reads {@code partitionCount} partitions of {@code topic} from the beginning until {@code expected} records
     * arrived or the deadline passed, and returns every record read.
     */
    static List<ConsumerRecord<String, String>> readFromBeginning(
            String bootstrap, String topic, int partitionCount, int expected) {
        List<ConsumerRecord<String, String>> records = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = consumer(bootstrap)) {
            List<TopicPartition> partitions = partitions(topic, partitionCount);
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            await("reading " + expected + " records of " + topic)
                    .atMost(CLIENT_DEADLINE)
                    .pollInSameThread() // KafkaConsumer belongs to one thread
                    .pollInterval(Duration.ZERO)
                    .until(() -> {
                        consumer.poll(Duration.ofMillis(200)).forEach(records::add);
                        return records.size() >= expected;
                    });
        }
        return records;
    }

    /**
     * The values of partition 0 of {@code topic} from the beginning, read with a consumer of {@code config} (security
     * settings) until {@code expected} arrived or the deadline passed.
     */
    static List<String> readValues(String bootstrap, Map<String, Object> config, String topic, int expected) {
        Map<String, Object> consumerConfig = new java.util.HashMap<>(config);
        consumerConfig.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        consumerConfig.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        consumerConfig.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        List<String> read = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(consumerConfig, new StringDeserializer(),
                new StringDeserializer())) {
            TopicPartition tp = new TopicPartition(topic, 0);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            await("reading back " + expected + " records of " + topic).atMost(CLIENT_DEADLINE).pollInSameThread()
                    .pollInterval(Duration.ZERO).until(() -> {
                        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                            read.add(r.value());
                        }
                        return read.size() >= expected;
                    });
        }
        return read;
    }

    /** Each key's latest value in partition {@code partition} of {@code topic}, read from the beginning to the end. */
    static Map<String, String> readLatestValues(String bootstrap, String topic, int partition) {
        Map<String, String> read = new java.util.HashMap<>();
        try (KafkaConsumer<String, String> consumer = consumer(bootstrap)) {
            TopicPartition tp = new TopicPartition(topic, partition);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            long end = consumer.endOffsets(List.of(tp)).get(tp);
            await("read " + tp + " to the end").atMost(CLIENT_DEADLINE).pollInSameThread().pollInterval(Duration.ZERO)
                    .until(() -> {
                        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                            read.put(r.key(), r.value());
                        }
                        return consumer.position(tp) >= end;
                    });
        }
        return read;
    }
}
