package io.tributary.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.replication.PartitionId;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.message.CreateTopicsRequestData;
import org.apache.kafka.common.message.CreateTopicsResponseData;
import org.apache.kafka.common.message.FetchRequestData;
import org.apache.kafka.common.message.FetchResponseData;
import org.apache.kafka.common.message.ListOffsetsRequestData;
import org.apache.kafka.common.message.ListOffsetsResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.record.SimpleRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The read side of transactions on a real node (Fetch v12 and ListOffsets v6 over a socket): read_committed stops at
 * the last stable offset and gets the aborted transactions of what it read; read_uncommitted reads to the high
 * watermark. The transactional batches and markers are written through the replica manager, as the transaction
 * coordinator's markers will be (Produce refuses transactions until the coordinator exists).
 */
class TransactionReadTest {
    private static final String TOPIC = "txn";
    private static final PartitionId TP = new PartitionId(TOPIC, 0);

    private InProcessNode node;

    @BeforeEach
    void start(@TempDir Path dataDir) throws Exception {
        node = InProcessNode.start(dataDir, Map.of("auto.create.topics.enable", "false"));
        try (WireClient client = new WireClient(node.port())) {
            CreateTopicsRequestData request = new CreateTopicsRequestData().setTimeoutMs(10_000);
            request.topics().add(new CreateTopicsRequestData.CreatableTopic().setName(TOPIC).setNumPartitions(1)
                    .setReplicationFactor((short) 1));
            CreateTopicsResponseData created = (CreateTopicsResponseData) client.send(ApiKeys.CREATE_TOPICS,
                    (short) 7, request);
            assertThat(created.topics().find(TOPIC).errorCode()).isEqualTo(Errors.NONE.code());
        }
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).ignoreExceptions()
                .until(() -> node.replicas().partition(TP).isLeader());
    }

    @AfterEach
    void stop() {
        node.close();
    }

    @Test
    void readCommittedStopsAtTheLastStableOffsetAndGetsTheAbortedTransactions() throws Exception {
        append(plain("before"));                                   // 0
        long first7 = append(txn(7, 0, "t7-a", "t7-b"));           // 1-2
        long first8 = append(txn(8, 0, "t8-a"));                   // 3
        append(plain("during"));                                   // 4
        try (WireClient client = new WireClient(node.port())) {
            FetchResponseData.PartitionData committed = fetch(client, 0, IsolationLevel.READ_COMMITTED);
            assertThat(committed.lastStableOffset()).isEqualTo(first7);
            assertThat(committed.highWatermark()).isEqualTo(5);
            assertThat(lastOffset(committed)).as("nothing at or past the first open transaction").isEqualTo(0);
            assertThat(listLatest(client, IsolationLevel.READ_COMMITTED)).isEqualTo(first7);
            assertThat(listLatest(client, IsolationLevel.READ_UNCOMMITTED)).isEqualTo(5);
            FetchResponseData.PartitionData uncommitted = fetch(client, 0, IsolationLevel.READ_UNCOMMITTED);
            assertThat(lastOffset(uncommitted)).isEqualTo(4);
            assertThat(uncommitted.abortedTransactions()).isNull();

            long abort7 = node.replicas().appendTransactionMarker(TP, 7, (short) 0, 0, false).result().firstOffset();
            assertThat(fetch(client, 0, IsolationLevel.READ_COMMITTED).lastStableOffset()).isEqualTo(first8);
            long commit8 = node.replicas().appendTransactionMarker(TP, 8, (short) 0, 0, true).result().firstOffset();

            FetchResponseData.PartitionData all = fetch(client, 0, IsolationLevel.READ_COMMITTED);
            assertThat(all.lastStableOffset()).isEqualTo(commit8 + 1).isEqualTo(all.highWatermark());
            assertThat(lastOffset(all)).isEqualTo(commit8);
            assertThat(all.abortedTransactions()).singleElement().satisfies(a -> {
                assertThat(a.producerId()).isEqualTo(7);
                assertThat(a.firstOffset()).isEqualTo(first7);
            });
            assertThat(fetch(client, abort7 + 1, IsolationLevel.READ_COMMITTED).abortedTransactions())
                    .as("a fetch after the abort's marker").isEmpty();
        }
        // kafka-clients' consumers: read_committed drops the aborted records and the markers, read_uncommitted only
        // the markers
        assertThat(consume(IsolationLevel.READ_COMMITTED)).containsExactly("before", "t8-a", "during");
        assertThat(consume(IsolationLevel.READ_UNCOMMITTED))
                .containsExactly("before", "t7-a", "t7-b", "t8-a", "during");
    }

    private List<String> consume(IsolationLevel isolation) {
        List<String> values = new java.util.ArrayList<>();
        try (org.apache.kafka.clients.consumer.KafkaConsumer<byte[], byte[]> consumer =
                new org.apache.kafka.clients.consumer.KafkaConsumer<>(Map.of(
                        "bootstrap.servers", node.bootstrap(),
                        "isolation.level", isolation.toString(),
                        "enable.auto.commit", false),
                        new org.apache.kafka.common.serialization.ByteArrayDeserializer(),
                        new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
            org.apache.kafka.common.TopicPartition tp = new org.apache.kafka.common.TopicPartition(TOPIC, 0);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            long end = consumer.endOffsets(List.of(tp)).get(tp);
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).pollInSameThread()
                    .pollInterval(java.time.Duration.ZERO).until(() -> {
                        consumer.poll(java.time.Duration.ofMillis(100))
                                .forEach(r -> values.add(new String(r.value(), StandardCharsets.UTF_8)));
                        return consumer.position(tp) >= end;
                    });
        }
        return values;
    }

    private long append(MemoryRecords records) {
        return node.replicas().appendAsLeader(TP, -1, records.buffer(), 1).result().firstOffset();
    }

    private static MemoryRecords plain(String value) {
        return MemoryRecords.withRecords(Compression.NONE, new SimpleRecord(value.getBytes(StandardCharsets.UTF_8)));
    }

    private static MemoryRecords txn(long producerId, int sequence, String... values) {
        SimpleRecord[] records = new SimpleRecord[values.length];
        for (int i = 0; i < values.length; i++) {
            records[i] = new SimpleRecord(values[i].getBytes(StandardCharsets.UTF_8));
        }
        return MemoryRecords.withTransactionalRecords(Compression.NONE, producerId, (short) 0, sequence, records);
    }

    private static FetchResponseData.PartitionData fetch(WireClient client, long offset, IsolationLevel isolation)
            throws Exception {
        FetchRequestData request = new FetchRequestData().setReplicaId(-1).setMaxWaitMs(0).setMinBytes(0)
                .setMaxBytes(1 << 20).setSessionId(0).setSessionEpoch(-1).setIsolationLevel(isolation.id());
        request.topics().add(new FetchRequestData.FetchTopic().setTopic(TOPIC).setPartitions(List.of(
                new FetchRequestData.FetchPartition().setPartition(0).setFetchOffset(offset)
                        .setPartitionMaxBytes(1 << 20).setCurrentLeaderEpoch(-1))));
        FetchResponseData response = (FetchResponseData) client.send(ApiKeys.FETCH, (short) 12, request);
        FetchResponseData.PartitionData p = response.responses().get(0).partitions().get(0);
        assertThat(p.errorCode()).isEqualTo(Errors.NONE.code());
        return p;
    }

    /** The last offset of the records fetched, or -1 if none. */
    private static long lastOffset(FetchResponseData.PartitionData p) {
        long last = -1;
        for (RecordBatch batch : ((MemoryRecords) p.records()).batches()) {
            last = batch.lastOffset();
        }
        return last;
    }

    private static long listLatest(WireClient client, IsolationLevel isolation) throws Exception {
        ListOffsetsRequestData request = new ListOffsetsRequestData().setReplicaId(-1)
                .setIsolationLevel(isolation.id());
        request.topics().add(new ListOffsetsRequestData.ListOffsetsTopic().setName(TOPIC).setPartitions(List.of(
                new ListOffsetsRequestData.ListOffsetsPartition().setPartitionIndex(0).setTimestamp(-1))));
        ListOffsetsResponseData response = (ListOffsetsResponseData) client.send(ApiKeys.LIST_OFFSETS, (short) 6,
                request);
        return response.topics().get(0).partitions().get(0).offset();
    }
}
