package io.tributary.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Transactions end to end on a real node with real kafka-clients: the transaction coordinator (FindCoordinator,
 * InitProducerId, AddPartitionsToTxn, EndTxn), markers written by the partition leader, read_committed and
 * read_uncommitted consumers, fencing, the transaction timeout, and the admin APIs {@code kafka-transactions} uses.
 */
class TransactionsTest {
    private static final String TOPIC = "payments";

    private InProcessNode node;
    private Admin admin;

    @BeforeEach
    void start(@TempDir Path dataDir) throws Exception {
        node = InProcessNode.start(dataDir, Map.of("auto.create.topics.enable", "false",
                "transaction.abort.timed.out.transaction.cleanup.interval.ms", "500",
                "transaction.state.log.num.partitions", "3", "offsets.topic.num.partitions", "3"));
        admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, node.bootstrap(),
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000));
        admin.createTopics(List.of(new NewTopic(TOPIC, 3, (short) 1))).all().get(30, TimeUnit.SECONDS);
    }

    @AfterEach
    void stop() {
        if (admin != null) {
            admin.close(Duration.ofSeconds(5));
        }
        node.close();
    }

    private KafkaProducer<String, String> transactional(String id, Map<String, Object> overrides) {
        Map<String, Object> config = new HashMap<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, node.bootstrap(),
                ProducerConfig.TRANSACTIONAL_ID_CONFIG, id, ProducerConfig.MAX_BLOCK_MS_CONFIG, 30_000,
                ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30_000, ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000));
        config.putAll(overrides);
        return new KafkaProducer<>(config, new StringSerializer(), new StringSerializer());
    }

    private KafkaConsumer<String, String> consumer(IsolationLevel isolation) {
        return new KafkaConsumer<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, node.bootstrap(),
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false, ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation.toString().toLowerCase(java.util.Locale.ROOT)),
                new StringDeserializer(), new StringDeserializer());
    }

    /** Every record of the topic's partitions up to their end offsets (for this isolation level), per partition. */
    private Map<Integer, List<ConsumerRecord<String, String>>> readAll(IsolationLevel isolation) {
        try (KafkaConsumer<String, String> consumer = consumer(isolation)) {
            List<TopicPartition> partitions = List.of(new TopicPartition(TOPIC, 0), new TopicPartition(TOPIC, 1),
                    new TopicPartition(TOPIC, 2));
            consumer.assign(partitions);
            Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
            Map<Integer, List<ConsumerRecord<String, String>>> out = new HashMap<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (partitions.stream().anyMatch(tp -> consumer.position(tp) < ends.get(tp))) {
                assertThat(System.nanoTime()).as("read to the end offsets in time").isLessThan(deadline);
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    out.computeIfAbsent(r.partition(), p -> new ArrayList<>()).add(r);
                }
            }
            return out;
        }
    }

    private static List<String> values(Map<Integer, List<ConsumerRecord<String, String>>> records) {
        List<String> values = new ArrayList<>();
        for (int p = 0; p < 3; p++) {
            List<ConsumerRecord<String, String>> list = records.getOrDefault(p, List.of());
            for (int i = 1; i < list.size(); i++) {
                assertThat(list.get(i).offset()).as("offset order").isGreaterThan(list.get(i - 1).offset());
            }
            list.forEach(r -> values.add(r.value()));
        }
        return values;
    }

    @Test
    void readCommittedSeesExactlyTheCommittedTransactionAndReadUncommittedSeesBoth() throws Exception {
        try (KafkaProducer<String, String> producer = transactional("tx-commit-abort", Map.of())) {
            producer.initTransactions();
            producer.beginTransaction();
            for (int p = 0; p < 3; p++) {
                producer.send(new ProducerRecord<>(TOPIC, p, "k", "committed-" + p));
            }
            producer.commitTransaction();
            producer.beginTransaction();
            for (int p = 0; p < 3; p++) {
                producer.send(new ProducerRecord<>(TOPIC, p, "k", "aborted-" + p));
            }
            producer.flush();
            producer.abortTransaction();
        }
        List<String> committed = values(readAll(IsolationLevel.READ_COMMITTED));
        assertThat(committed).containsExactlyInAnyOrder("committed-0", "committed-1", "committed-2");
        Map<Integer, List<ConsumerRecord<String, String>>> all = readAll(IsolationLevel.READ_UNCOMMITTED);
        assertThat(values(all)).containsExactlyInAnyOrder("committed-0", "committed-1", "committed-2", "aborted-0",
                "aborted-1", "aborted-2");
        for (int p = 0; p < 3; p++) {
            // Each partition: the committed record at 0, its COMMIT marker at 1, the aborted record at 2, its ABORT
            // marker at 3: the consumer skips the control records.
            assertThat(all.get(p)).extracting(ConsumerRecord::offset).containsExactly(0L, 2L);
        }
    }

    @Test
    void sendOffsetsToTransactionCommitsTheOffsetsOnlyWithTheTransaction() throws Exception {
        TopicPartition input = new TopicPartition(TOPIC, 0);
        String group = "tx-offsets-group";
        try (KafkaProducer<String, String> producer = transactional("tx-offsets", Map.of())) {
            producer.initTransactions();
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(TOPIC, 1, "k", "out-aborted"));
            producer.sendOffsetsToTransaction(Map.of(input, new OffsetAndMetadata(5)),
                    new ConsumerGroupMetadata(group));
            assertThat(committedOffset(group, input)).as("offsets of an open transaction").isNull();
            producer.abortTransaction();
            assertThat(committedOffset(group, input)).as("offsets of an aborted transaction").isNull();

            producer.beginTransaction();
            producer.send(new ProducerRecord<>(TOPIC, 1, "k", "out-committed"));
            producer.sendOffsetsToTransaction(Map.of(input, new OffsetAndMetadata(7)),
                    new ConsumerGroupMetadata(group));
            assertThat(committedOffset(group, input)).as("offsets of an open transaction").isNull();
            producer.commitTransaction();
        }
        assertThat(committedOffset(group, input)).as("offsets of the committed transaction").isEqualTo(7L);
        assertThat(values(readAll(IsolationLevel.READ_COMMITTED))).containsExactly("out-committed");
    }

    private Long committedOffset(String group, TopicPartition partition) throws Exception {
        OffsetAndMetadata offset = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata()
                .get(30, TimeUnit.SECONDS).get(partition);
        return offset == null ? null : offset.offset();
    }

    @Test
    void aSecondProducerWithTheSameTransactionalIdFencesTheFirst() throws Exception {
        try (KafkaProducer<String, String> first = transactional("tx-fenced", Map.of());
                KafkaProducer<String, String> second = transactional("tx-fenced", Map.of())) {
            first.initTransactions();
            first.beginTransaction();
            first.send(new ProducerRecord<>(TOPIC, 0, "k", "zombie")).get(30, TimeUnit.SECONDS);
            second.initTransactions(); // aborts the first's open transaction with a bumped epoch
            second.beginTransaction();
            second.send(new ProducerRecord<>(TOPIC, 1, "k", "live")).get(30, TimeUnit.SECONDS);
            second.commitTransaction();
            // The zombie's next partition goes to the coordinator (AddPartitionsToTxn), which knows the new epoch.
            assertThatThrownBy(() -> first.send(new ProducerRecord<>(TOPIC, 2, "k", "zombie-2"))
                    .get(30, TimeUnit.SECONDS))
                    .satisfies(e -> assertThat(causes(e)).anyMatch(c -> c instanceof ProducerFencedException));
            assertThatThrownBy(first::commitTransaction)
                    .satisfies(e -> assertThat(causes(e)).anyMatch(c -> c instanceof ProducerFencedException));
        }
        assertThat(values(readAll(IsolationLevel.READ_COMMITTED))).containsExactly("live");
    }

    private static List<Throwable> causes(Throwable e) {
        List<Throwable> out = new ArrayList<>();
        for (Throwable t = e; t != null && !out.contains(t); t = t.getCause()) {
            out.add(t);
        }
        return out;
    }

    @Test
    void aTransactionLeftOpenPastItsTimeoutIsAbortedAndTheLastStableOffsetMovesOn() throws Exception {
        KafkaProducer<String, String> hanging = transactional("tx-hanging",
                Map.of(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 2_000));
        try {
            hanging.initTransactions();
            hanging.beginTransaction();
            hanging.send(new ProducerRecord<>(TOPIC, 0, "k", "left-open")).get(30, TimeUnit.SECONDS);
            try (KafkaConsumer<String, String> consumer = consumer(IsolationLevel.READ_COMMITTED)) {
                TopicPartition tp = new TopicPartition(TOPIC, 0);
                assertThat(consumer.endOffsets(List.of(tp)).get(tp)).as("the LSO holds at the open transaction")
                        .isEqualTo(0L);
                assertThat(admin.listTransactions().all().get(30, TimeUnit.SECONDS))
                        .extracting(TransactionListing::transactionalId, TransactionListing::state)
                        .contains(org.assertj.core.groups.Tuple.tuple("tx-hanging", TransactionState.ONGOING));
                // The coordinator aborts it after 2 s (checked every 500 ms); the ABORT marker moves the LSO past it.
                Awaitility.await("the timed-out transaction aborted").atMost(Duration.ofSeconds(30))
                        .pollInterval(Duration.ofMillis(200))
                        .until(() -> consumer.endOffsets(List.of(tp)).get(tp) == 2L);
                TransactionDescription description = admin.describeTransactions(List.of("tx-hanging"))
                        .description("tx-hanging").get(30, TimeUnit.SECONDS);
                assertThat(description.state()).isEqualTo(TransactionState.COMPLETE_ABORT);
            }
            assertThat(values(readAll(IsolationLevel.READ_COMMITTED))).isEmpty();
            // Its producer was fenced by the abort's epoch bump.
            assertThatThrownBy(() -> hanging.commitTransaction()).isInstanceOf(KafkaException.class);
        } finally {
            hanging.close(Duration.ofSeconds(5));
        }
    }

    /**
     * A hanging transaction (Kafka's term: data of a transaction its coordinator does not know, so no marker ever ends
     * it) is found as kafka-transactions find-hanging finds it (DescribeProducers) and aborted as kafka-transactions
     * abort does it (Admin.abortTransaction: WriteTxnMarkers to the partition leader); the LSO then moves on.
     */
    @Test
    void aHangingTransactionIsFoundAndAbortedWithTheAdminCallsOfKafkaTransactions() throws Exception {
        TopicPartition tp = new TopicPartition(TOPIC, 0);
        long producerId = 424_242L;
        try (WireClient client = new WireClient(node.port())) {
            org.apache.kafka.common.message.ProduceRequestData request =
                    new org.apache.kafka.common.message.ProduceRequestData().setAcks((short) -1).setTimeoutMs(10_000)
                            .setTransactionalId("never-told-the-coordinator");
            org.apache.kafka.common.message.ProduceRequestData.TopicProduceData data =
                    new org.apache.kafka.common.message.ProduceRequestData.TopicProduceData().setName(TOPIC);
            data.partitionData().add(new org.apache.kafka.common.message.ProduceRequestData.PartitionProduceData()
                    .setIndex(0).setRecords(org.apache.kafka.common.record.MemoryRecords.withTransactionalRecords(
                            org.apache.kafka.common.compress.Compression.NONE, producerId, (short) 3, 0,
                            new org.apache.kafka.common.record.SimpleRecord("k".getBytes(), "hanging".getBytes()))));
            request.topicData().add(data);
            org.apache.kafka.common.message.ProduceResponseData response =
                    (org.apache.kafka.common.message.ProduceResponseData) client.send(
                            org.apache.kafka.common.protocol.ApiKeys.PRODUCE, (short) 9, request);
            assertThat(response.responses().iterator().next().partitionResponses().get(0).errorCode())
                    .isEqualTo((short) 0);
        }
        try (KafkaConsumer<String, String> consumer = consumer(IsolationLevel.READ_COMMITTED)) {
            assertThat(consumer.endOffsets(List.of(tp)).get(tp)).as("the hanging transaction holds the LSO")
                    .isEqualTo(0L);
            // find-hanging: an open transaction on the partition that no coordinator lists
            org.apache.kafka.clients.admin.ProducerState hanging = admin.describeProducers(List.of(tp))
                    .partitionResult(tp).get(30, TimeUnit.SECONDS).activeProducers().stream()
                    .filter(p -> p.currentTransactionStartOffset().isPresent()).findFirst().orElseThrow();
            assertThat(hanging.producerId()).isEqualTo(producerId);
            assertThat(hanging.currentTransactionStartOffset()).hasValue(0L);
            assertThat(admin.listTransactions().all().get(30, TimeUnit.SECONDS))
                    .extracting(TransactionListing::producerId).doesNotContain(producerId);
            // abort: an ABORT marker with the producer's epoch and coordinator epoch, written by the leader
            admin.abortTransaction(new org.apache.kafka.clients.admin.AbortTransactionSpec(tp, hanging.producerId(),
                    (short) hanging.producerEpoch(), hanging.coordinatorEpoch().orElse(0)))
                    .all().get(30, TimeUnit.SECONDS);
            assertThat(consumer.endOffsets(List.of(tp)).get(tp)).as("the LSO past the ABORT marker").isEqualTo(2L);
        }
        assertThat(values(readAll(IsolationLevel.READ_COMMITTED))).isEmpty();
    }

    @Test
    void describeAndListTransactionsShowAnOngoingTransactionAndItsPartitions() throws Exception {
        try (KafkaProducer<String, String> producer = transactional("tx-described", Map.of())) {
            producer.initTransactions();
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(TOPIC, 1, "k", "v")).get(30, TimeUnit.SECONDS);
            producer.send(new ProducerRecord<>(TOPIC, 2, "k", "v")).get(30, TimeUnit.SECONDS);
            TransactionDescription d = admin.describeTransactions(List.of("tx-described")).description("tx-described")
                    .get(30, TimeUnit.SECONDS);
            assertThat(d.state()).isEqualTo(TransactionState.ONGOING);
            assertThat(d.topicPartitions()).containsExactlyInAnyOrder(new TopicPartition(TOPIC, 1),
                    new TopicPartition(TOPIC, 2));
            assertThat(d.transactionTimeoutMs()).isEqualTo(60_000);
            Collection<TransactionListing> ongoing = admin.listTransactions(
                    new org.apache.kafka.clients.admin.ListTransactionsOptions()
                            .filterStates(Set.of(TransactionState.ONGOING))).all().get(30, TimeUnit.SECONDS);
            assertThat(ongoing).extracting(TransactionListing::transactionalId).containsExactly("tx-described");
            producer.commitTransaction();
        }
        assertThatThrownBy(() -> admin.describeTransactions(List.of("no-such-id")).description("no-such-id")
                .get(30, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(org.apache.kafka.common.errors.TransactionalIdNotFoundException.class);
    }
}
