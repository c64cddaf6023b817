package io.tributary.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.message.CreateTopicsRequestData;
import org.apache.kafka.common.message.FindCoordinatorRequestData;
import org.apache.kafka.common.message.FindCoordinatorResponseData;
import org.apache.kafka.common.message.OffsetFetchRequestData;
import org.apache.kafka.common.message.OffsetFetchResponseData;
import org.apache.kafka.common.message.TxnOffsetCommitRequestData;
import org.apache.kafka.common.message.TxnOffsetCommitResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * TxnOffsetCommit over the wire, every served version (v0-4), answers read by kafka-clients' parser: the offsets are
 * taken into the producer's transaction, so OffsetFetch with require_stable answers UNSTABLE_OFFSET_COMMIT for them
 * and without it the committed (here: no) offset; unknown partitions and stale members get Kafka's errors.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TxnOffsetCommitTest {

    private static final Set<Short> RETRIABLE = Set.of(Errors.COORDINATOR_LOAD_IN_PROGRESS.code(),
            Errors.COORDINATOR_NOT_AVAILABLE.code(), Errors.NOT_COORDINATOR.code());

    private InProcessNode node;
    private WireClient client;

    @BeforeAll
    void start(@TempDir Path dataDir) throws Exception {
        node = InProcessNode.start(dataDir, Map.of());
        client = new WireClient(node.port());
        CreateTopicsRequestData create = new CreateTopicsRequestData().setTimeoutMs(30_000);
        create.topics().add(new CreateTopicsRequestData.CreatableTopic().setName("t").setNumPartitions(5)
                .setReplicationFactor((short) 1));
        client.send(ApiKeys.CREATE_TOPICS, (short) 7, create);
        await().atMost(Duration.ofSeconds(30)).until(() -> ((FindCoordinatorResponseData) client.send(
                ApiKeys.FIND_COORDINATOR, (short) 3, new FindCoordinatorRequestData().setKey("g")))
                .errorCode() == Errors.NONE.code());
    }

    @AfterAll
    void stop() throws Exception {
        client.close();
        node.close();
    }

    @Test
    void everyVersionTakesTheOffsetsIntoTheTransactionAndRequireStableSeesThemUnstable() throws Exception {
        for (short v = 0; v <= 4; v++) {
            // Given producer 100+v committing partition v of "t" in its transaction
            TxnOffsetCommitRequestData req = request(100 + v, v, 42L + v);
            if (v >= 3) {
                req.setGenerationId(-1).setMemberId("").setGroupInstanceId(null);
            }

            // When it is sent
            TxnOffsetCommitResponseData response = commitRetrying(v, req);

            // Then it is accepted, and pending: unstable for require_stable, not committed for others
            assertThat(response.topics().get(0).partitions().get(0).errorCode()).as("v%d", v)
                    .isEqualTo(Errors.NONE.code());
            OffsetFetchResponseData.OffsetFetchResponsePartition stable = fetch(v, true);
            assertThat(stable.errorCode()).as("v%d", v).isEqualTo(Errors.UNSTABLE_OFFSET_COMMIT.code());
            OffsetFetchResponseData.OffsetFetchResponsePartition plain = fetch(v, false);
            assertThat(plain.errorCode()).isEqualTo(Errors.NONE.code());
            assertThat(plain.committedOffset()).isEqualTo(-1);
        }
    }

    @Test
    void unknownPartitionsAndMembersOfAnUnknownGenerationAreRefused() throws Exception {
        TxnOffsetCommitRequestData req = request(200, 0, 1L);
        req.topics().add(new TxnOffsetCommitRequestData.TxnOffsetCommitRequestTopic().setName("missing")
                .setPartitions(List.of(new TxnOffsetCommitRequestData.TxnOffsetCommitRequestPartition()
                        .setPartitionIndex(0).setCommittedOffset(1))));
        req.topics().get(0).partitions().add(new TxnOffsetCommitRequestData.TxnOffsetCommitRequestPartition()
                .setPartitionIndex(99).setCommittedOffset(1));
        TxnOffsetCommitResponseData response = commitRetrying((short) 4, req.setGroupId("other"));
        assertThat(response.topics()).flatExtracting(TxnOffsetCommitResponseData.TxnOffsetCommitResponseTopic::partitions)
                .extracting(p -> Errors.forCode(p.errorCode()))
                .containsExactly(Errors.NONE, Errors.UNKNOWN_TOPIC_OR_PARTITION, Errors.UNKNOWN_TOPIC_OR_PARTITION);

        // KIP-447: a member of a generation of a group the coordinator does not know
        TxnOffsetCommitResponseData stale = commitRetrying((short) 3, request(201, 1, 1L).setGroupId("unknown")
                .setGenerationId(3).setMemberId("m-1"));
        assertThat(stale.topics().get(0).partitions().get(0).errorCode())
                .isEqualTo(Errors.ILLEGAL_GENERATION.code());
    }

    private static TxnOffsetCommitRequestData request(long producerId, int partition, long offset) {
        TxnOffsetCommitRequestData.TxnOffsetCommitRequestTopic topic =
                new TxnOffsetCommitRequestData.TxnOffsetCommitRequestTopic().setName("t");
        topic.partitions().add(new TxnOffsetCommitRequestData.TxnOffsetCommitRequestPartition()
                .setPartitionIndex(partition).setCommittedOffset(offset).setCommittedMetadata("m"));
        return new TxnOffsetCommitRequestData().setTransactionalId("tx-" + producerId).setGroupId("g")
                .setProducerId(producerId).setProducerEpoch((short) 0)
                .setTopics(new java.util.ArrayList<>(List.of(topic)));
    }

    /** Sends until the group's coordinator is loaded (a client retries those errors alike). */
    private TxnOffsetCommitResponseData commitRetrying(short version, TxnOffsetCommitRequestData req) {
        TxnOffsetCommitResponseData[] answer = new TxnOffsetCommitResponseData[1];
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            answer[0] = (TxnOffsetCommitResponseData) client.send(ApiKeys.TXN_OFFSET_COMMIT, version, req);
            return !RETRIABLE.contains(answer[0].topics().get(0).partitions().get(0).errorCode());
        });
        return answer[0];
    }

    /** OffsetFetch v7 of partition {@code partition} of "t" in group "g". */
    private OffsetFetchResponseData.OffsetFetchResponsePartition fetch(int partition, boolean requireStable)
            throws Exception {
        OffsetFetchResponseData r = (OffsetFetchResponseData) client.send(ApiKeys.OFFSET_FETCH, (short) 7,
                new OffsetFetchRequestData().setGroupId("g").setRequireStable(requireStable).setTopics(List.of(
                        new OffsetFetchRequestData.OffsetFetchRequestTopic().setName("t")
                                .setPartitionIndexes(List.of(partition)))));
        return r.topics().get(0).partitions().get(0);
    }
}
