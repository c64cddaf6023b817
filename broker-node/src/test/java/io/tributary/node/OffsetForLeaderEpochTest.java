package io.tributary.node;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.message.CreateTopicsRequestData;
import org.apache.kafka.common.message.CreateTopicsResponseData;
import org.apache.kafka.common.message.OffsetForLeaderEpochRequestData;
import org.apache.kafka.common.message.OffsetForLeaderEpochResponseData;
import org.apache.kafka.common.message.ProduceRequestData;
import org.apache.kafka.common.message.ProduceResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.SimpleRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * OffsetForLeaderEpoch (KIP-320) on a single in-process node, where a partition only ever has leader epoch 0 (a
 * single node never changes leaders): the answers for the current, a newer and the undefined epoch, and the
 * fencing by {@code currentLeaderEpoch}. Answers for older epochs need a leader change, so
 * {@code OffsetForLeaderEpochIT} checks them.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OffsetForLeaderEpochTest {

    private static final String TOPIC = "epochs";
    private static final short VERSION = 4;
    private static final int RECORDS = 7;

    private InProcessNode node;
    private WireClient client;

    @BeforeAll
    void start(@TempDir Path dataDir) throws Exception {
        // Given a one-partition topic holding RECORDS records, all written in leader epoch 0
        node = InProcessNode.start(dataDir, Map.of("auto.create.topics.enable", "false"));
        client = new WireClient(node.port());
        CreateTopicsRequestData create = new CreateTopicsRequestData().setTimeoutMs(10_000);
        create.topics().add(new CreateTopicsRequestData.CreatableTopic().setName(TOPIC).setNumPartitions(1)
                .setReplicationFactor((short) 1));
        CreateTopicsResponseData created = (CreateTopicsResponseData) client.send(ApiKeys.CREATE_TOPICS, (short) 7,
                create);
        assertThat(created.topics().find(TOPIC).errorCode()).isEqualTo(Errors.NONE.code());
        for (int i = 0; i < RECORDS; i++) {
            assertThat(produce("r" + i)).as("produce of record %d", i).isEqualTo(Errors.NONE);
        }
    }

    @AfterAll
    void stop() throws Exception {
        client.close();
        node.close();
    }

    @Test
    void answersTheLogEndOffsetForTheCurrentLeaderEpoch() throws Exception {
        // When a consumer asks where epoch 0, the current one, ends
        OffsetForLeaderEpochResponseData.EpochEndOffset answer = offsetForLeaderEpoch(0, 0);

        // Then it is the log end offset, in epoch 0
        assertThat(answer.errorCode()).isEqualTo(Errors.NONE.code());
        assertThat(answer.leaderEpoch()).isZero();
        assertThat(answer.endOffset()).isEqualTo(RECORDS);
    }

    @Test
    void answersUndefinedForAnEpochNewerThanTheCurrentOne() throws Exception {
        // When a consumer asks for an epoch the leader has not reached (Kafka: no error, undefined epoch and offset)
        OffsetForLeaderEpochResponseData.EpochEndOffset answer = offsetForLeaderEpoch(-1, 3);

        // Then the answer is undefined, without an error
        assertThat(answer.errorCode()).isEqualTo(Errors.NONE.code());
        assertThat(answer.leaderEpoch()).isEqualTo(-1);
        assertThat(answer.endOffset()).isEqualTo(-1L);
    }

    @Test
    void answersUndefinedForTheUndefinedEpoch() throws Exception {
        // When a client asks for epoch -1
        OffsetForLeaderEpochResponseData.EpochEndOffset answer = offsetForLeaderEpoch(-1, -1);

        // Then the answer is undefined, without an error
        assertThat(answer.errorCode()).isEqualTo(Errors.NONE.code());
        assertThat(answer.leaderEpoch()).isEqualTo(-1);
        assertThat(answer.endOffset()).isEqualTo(-1L);
    }

    @Test
    void rejectsACurrentLeaderEpochNewerThanTheLeaders() throws Exception {
        // When the client believes the leader is in epoch 1 while it is in epoch 0
        OffsetForLeaderEpochResponseData.EpochEndOffset answer = offsetForLeaderEpoch(1, 0);

        // Then it is told the epoch is unknown (KIP-320), with no offset
        assertThat(answer.errorCode()).isEqualTo(Errors.UNKNOWN_LEADER_EPOCH.code());
        assertThat(answer.endOffset()).isEqualTo(-1L);
    }

    private Errors produce(String value) throws Exception {
        ProduceRequestData request = new ProduceRequestData().setAcks((short) -1).setTimeoutMs(10_000);
        ProduceRequestData.TopicProduceData data = new ProduceRequestData.TopicProduceData().setName(TOPIC);
        data.partitionData().add(new ProduceRequestData.PartitionProduceData().setIndex(0).setRecords(
                MemoryRecords.withRecords(Compression.NONE,
                        new SimpleRecord(value.getBytes(StandardCharsets.UTF_8)))));
        request.topicData().add(data);
        ProduceResponseData response = (ProduceResponseData) client.send(ApiKeys.PRODUCE, (short) 9, request);
        return Errors.forCode(response.responses().iterator().next().partitionResponses().get(0).errorCode());
    }

    private OffsetForLeaderEpochResponseData.EpochEndOffset offsetForLeaderEpoch(int currentLeaderEpoch,
            int leaderEpoch) throws Exception {
        OffsetForLeaderEpochRequestData.OffsetForLeaderTopic topic =
                new OffsetForLeaderEpochRequestData.OffsetForLeaderTopic().setTopic(TOPIC);
        topic.partitions().add(new OffsetForLeaderEpochRequestData.OffsetForLeaderPartition().setPartition(0)
                .setCurrentLeaderEpoch(currentLeaderEpoch).setLeaderEpoch(leaderEpoch));
        OffsetForLeaderEpochRequestData request = new OffsetForLeaderEpochRequestData().setReplicaId(-1);
        request.topics().add(topic);
        OffsetForLeaderEpochResponseData response = (OffsetForLeaderEpochResponseData) client.send(
                ApiKeys.OFFSET_FOR_LEADER_EPOCH, VERSION, request);
        return response.topics().find(TOPIC).partitions().get(0);
    }
}
