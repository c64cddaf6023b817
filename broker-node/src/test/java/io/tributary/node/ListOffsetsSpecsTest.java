package io.tributary.node;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.message.ListOffsetsRequestData;
import org.apache.kafka.common.message.ListOffsetsResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ListOffsets with every timestamp spec Kafka 4.x's admin client sends ({@code OffsetSpec}), on a real node: max
 * timestamp (-3, KIP-734) finds the first record with the largest timestamp and is bounded by the high watermark or,
 * for read_committed, the last stable offset; earliest local (-4) is the log start offset (no tiered storage);
 * latest tiered (-5) is -1, as Kafka answers without tiered storage; each on every version that carries it.
 */
class ListOffsetsSpecsTest {
    private static final String TOPIC = "stamped";
    private static final TopicPartition TP = new TopicPartition(TOPIC, 0);

    private NodeWithAdmin started;
    private InProcessNode node;
    private Admin admin;

    @BeforeEach
    void start(@TempDir Path dataDir) throws Exception {
        started = NodeWithAdmin.start(dataDir, Map.of("transaction.state.log.num.partitions", "1",
                "offsets.topic.num.partitions", "1"), new NewTopic(TOPIC, 1, (short) 1));
        node = started.node;
        admin = started.admin;
    }

    @AfterEach
    void stop() {
        if (started != null) {
            started.close();
        }
    }

    @Test
    void maxTimestampFindsTheFirstRecordWithTheLargestTimestamp() throws Exception {
        // Given: records whose timestamps are out of order, the largest (5000) first at offset 1 then again at 3
        try (KafkaProducer<String, String> producer = producer(Map.of())) {
            for (long ts : new long[] {1000, 5000, 3000, 5000, 2000}) {
                producer.send(new ProducerRecord<>(TOPIC, 0, ts, null, "t" + ts)).get(30, TimeUnit.SECONDS);
            }
        }

        // When / Then: max timestamp names offset 1 and its timestamp; by timestamp 2500 finds offset 1 too
        ListOffsetsResult.ListOffsetsResultInfo max = offset(OffsetSpec.maxTimestamp(),
                IsolationLevel.READ_UNCOMMITTED);
        assertThat(max.offset()).isEqualTo(1);
        assertThat(max.timestamp()).isEqualTo(5000);
        assertThat(offset(OffsetSpec.forTimestamp(2500), IsolationLevel.READ_UNCOMMITTED).offset()).isEqualTo(1);

        // When: the first two records are deleted, Then: earliest and earliest local both start at 2, and max
        // timestamp finds the later record carrying 5000
        admin.deleteRecords(Map.of(TP, RecordsToDelete.beforeOffset(2))).all().get(30, TimeUnit.SECONDS);
        assertThat(offset(OffsetSpec.earliest(), IsolationLevel.READ_UNCOMMITTED).offset()).isEqualTo(2);
        assertThat(offset(OffsetSpec.earliestLocal(), IsolationLevel.READ_UNCOMMITTED).offset()).isEqualTo(2);
        assertThat(offset(OffsetSpec.maxTimestamp(), IsolationLevel.READ_UNCOMMITTED).offset()).isEqualTo(3);

        // And: latest tiered is -1 without tiered storage, as Kafka answers
        assertThat(offset(OffsetSpec.latestTiered(), IsolationLevel.READ_UNCOMMITTED).offset()).isEqualTo(-1);
        assertThat(offset(OffsetSpec.latest(), IsolationLevel.READ_UNCOMMITTED).offset()).isEqualTo(5);
    }

    @Test
    void maxTimestampOfAnOpenTransactionIsHiddenFromReadCommittedUntilItCommits() throws Exception {
        // Given: a committed record at 1000, then an open transaction holding the largest timestamp (an hour ahead:
        // its COMMIT marker carries the coordinator's clock, and counts in the max timestamp as in Kafka)
        long ahead = System.currentTimeMillis() + 3_600_000;
        try (KafkaProducer<String, String> plain = producer(Map.of())) {
            plain.send(new ProducerRecord<>(TOPIC, 0, 1000L, null, "committed")).get(30, TimeUnit.SECONDS);
        }
        try (KafkaProducer<String, String> txn = producer(Map.of(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "tx",
                ProducerConfig.MAX_BLOCK_MS_CONFIG, 30_000))) {
            txn.initTransactions();
            txn.beginTransaction();
            txn.send(new ProducerRecord<>(TOPIC, 0, ahead, null, "open")).get(30, TimeUnit.SECONDS);

            // When / Then: read_uncommitted sees it at offset 1; read_committed gets no offset (beyond the LSO)
            assertThat(offset(OffsetSpec.maxTimestamp(), IsolationLevel.READ_UNCOMMITTED).offset()).isEqualTo(1);
            ListOffsetsResult.ListOffsetsResultInfo hidden = offset(OffsetSpec.maxTimestamp(),
                    IsolationLevel.READ_COMMITTED);
            assertThat(hidden.offset()).isEqualTo(-1);
            assertThat(offset(OffsetSpec.latest(), IsolationLevel.READ_COMMITTED).offset()).isEqualTo(1);

            // When the transaction commits, Then: read_committed sees it
            txn.commitTransaction();
        }
        // (commitTransaction returns once the coordinator has decided; the COMMIT marker reaches the partition just
        // after, as in Kafka, and the last stable offset moves with it)
        ListOffsetsResult.ListOffsetsResultInfo[] committed = new ListOffsetsResult.ListOffsetsResultInfo[1];
        org.awaitility.Awaitility.await("read_committed sees the committed transaction's max timestamp")
                .atMost(java.time.Duration.ofSeconds(30)).until(() -> {
                    committed[0] = offset(OffsetSpec.maxTimestamp(), IsolationLevel.READ_COMMITTED);
                    return committed[0].offset() != -1;
                });
        assertThat(committed[0].offset()).isEqualTo(1);
        assertThat(committed[0].timestamp()).isEqualTo(ahead);
    }

    @Test
    void everyVersionCarryingASpecAnswersIt() throws Exception {
        try (KafkaProducer<String, String> producer = producer(Map.of())) {
            producer.send(new ProducerRecord<>(TOPIC, 0, 7000L, null, "a")).get(30, TimeUnit.SECONDS);
            producer.send(new ProducerRecord<>(TOPIC, 0, 8000L, null, "b")).get(30, TimeUnit.SECONDS);
        }
        try (WireClient client = new WireClient(node.port())) {
            for (short v = 7; v <= 10; v++) {
                assertThat(listOffsets(client, v, -3).offset()).as("v%d max timestamp", v).isEqualTo(1);
                assertThat(listOffsets(client, v, -3).timestamp()).as("v%d", v).isEqualTo(8000);
                if (v >= 8) {
                    assertThat(listOffsets(client, v, -4).offset()).as("v%d earliest local", v).isZero();
                }
                if (v >= 9) {
                    ListOffsetsResponseData.ListOffsetsPartitionResponse tiered = listOffsets(client, v, -5);
                    assertThat(tiered.offset()).as("v%d latest tiered", v).isEqualTo(-1);
                    assertThat(tiered.leaderEpoch()).isEqualTo(-1);
                }
            }
            // A negative timestamp that is no spec is refused
            assertThat(listOffsets(client, (short) 10, -42).errorCode()).isEqualTo(Errors.INVALID_REQUEST.code());
        }
    }

    private static ListOffsetsResponseData.ListOffsetsPartitionResponse listOffsets(WireClient client, short version,
            long timestamp) throws Exception {
        ListOffsetsRequestData request = new ListOffsetsRequestData().setReplicaId(-1);
        request.topics().add(new ListOffsetsRequestData.ListOffsetsTopic().setName(TOPIC).setPartitions(List.of(
                new ListOffsetsRequestData.ListOffsetsPartition().setPartitionIndex(0).setTimestamp(timestamp))));
        ListOffsetsResponseData response = (ListOffsetsResponseData) client.send(ApiKeys.LIST_OFFSETS, version,
                request);
        ListOffsetsResponseData.ListOffsetsPartitionResponse p = response.topics().get(0).partitions().get(0);
        if (timestamp != -42) {
            assertThat(p.errorCode()).as("v%d spec %d", version, timestamp).isEqualTo(Errors.NONE.code());
        }
        return p;
    }

    private ListOffsetsResult.ListOffsetsResultInfo offset(OffsetSpec spec, IsolationLevel isolation)
            throws Exception {
        return admin.listOffsets(Map.of(TP, spec), new ListOffsetsOptions(isolation)).partitionResult(TP)
                .get(30, TimeUnit.SECONDS);
    }

    private KafkaProducer<String, String> producer(Map<String, Object> overrides) {
        Map<String, Object> config = new java.util.HashMap<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                node.bootstrap(), ProducerConfig.LINGER_MS_CONFIG, 0));
        config.putAll(overrides);
        return new KafkaProducer<>(config, new StringSerializer(), new StringSerializer());
    }
}
