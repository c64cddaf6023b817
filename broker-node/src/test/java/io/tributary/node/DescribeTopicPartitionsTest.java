package io.tributary.node;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.message.DescribeTopicPartitionsRequestData;
import org.apache.kafka.common.message.DescribeTopicPartitionsResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DescribeTopicPartitions (API 75) on a real node: kafka-clients 4.x's {@code Admin.describeTopics} pages through
 * it with a small partition limit and gets every partition; at the byte level the cursor walks topics in name order
 * and cuts a topic mid-way, unknown and illegal names get Kafka's errors, and a bad cursor INVALID_REQUEST.
 */
class DescribeTopicPartitionsTest {

    private NodeWithAdmin started;
    private InProcessNode node;
    private Admin admin;

    @BeforeEach
    void start(@TempDir Path dataDir) throws Exception {
        started = NodeWithAdmin.start(dataDir, Map.of(), new NewTopic("a", 3, (short) 1),
                new NewTopic("b", 2, (short) 1), new NewTopic("c", 1, (short) 1));
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
    void theAdminClientPagesThroughEveryPartition() throws Exception {
        // When: the admin client describes the topics two partitions at a time, with authorized operations
        Map<String, TopicDescription> described = admin.describeTopics(List.of("a", "b", "c"),
                new DescribeTopicsOptions().partitionSizeLimitPerResponse(2).includeAuthorizedOperations(true))
                .allTopicNames().get(30, TimeUnit.SECONDS);

        // Then: all six partitions, each led by node 1, and every operation (no authorizer)
        assertThat(described.get("a").partitions()).hasSize(3);
        assertThat(described.get("b").partitions()).hasSize(2);
        assertThat(described.get("c").partitions()).hasSize(1);
        described.values().forEach(t -> t.partitions().forEach(p -> assertThat(p.leader().id()).isEqualTo(1)));
        assertThat(described.get("a").authorizedOperations()).contains(AclOperation.READ, AclOperation.WRITE,
                AclOperation.DESCRIBE, AclOperation.ALTER_CONFIGS);
    }

    @Test
    void theCursorWalksTopicsInNameOrderAndCutsATopicMidWay() throws Exception {
        try (WireClient client = new WireClient(node.port())) {
            // Given / When: every topic, two partitions per page
            List<String> cursors = new ArrayList<>();
            List<String> seen = walk(client, 2, cursors);

            // Then: name order, each page cut inside a topic, no cursor after the last page
            assertThat(seen).containsExactly("a-0", "a-1", "a-2", "b-0", "b-1", "c-0");
            assertThat(cursors).containsExactly("a-2", "b-1");

            // When: three per page, Then: the first page ends with "a", and the cursor names b's first partition
            cursors.clear();
            assertThat(walk(client, 3, cursors)).containsExactly("a-0", "a-1", "a-2", "b-0", "b-1", "c-0");
            assertThat(cursors).containsExactly("b-0");
        }
    }

    /** Every partition of every topic, page by page, following the answers' cursors (collected in {@code cursors}). */
    private static List<String> walk(WireClient client, int limit, List<String> cursors) throws Exception {
        List<String> seen = new ArrayList<>();
        DescribeTopicPartitionsRequestData.Cursor cursor = null;
        for (int page = 0; page < 10; page++) {
            DescribeTopicPartitionsResponseData response = describe(client, List.of(), limit, cursor);
            response.topics().forEach(t -> t.partitions().forEach(p -> seen.add(t.name() + "-"
                    + p.partitionIndex())));
            if (response.nextCursor() == null) {
                return seen;
            }
            cursors.add(response.nextCursor().topicName() + "-" + response.nextCursor().partitionIndex());
            cursor = new DescribeTopicPartitionsRequestData.Cursor()
                    .setTopicName(response.nextCursor().topicName())
                    .setPartitionIndex(response.nextCursor().partitionIndex());
        }
        throw new AssertionError("no last page after 10: " + seen);
    }

    @Test
    void unknownIllegalAndBadCursorGetKafkasErrors() throws Exception {
        try (WireClient client = new WireClient(node.port())) {
            DescribeTopicPartitionsResponseData response = describe(client, List.of("missing", "bad/name", "c"),
                    2000, null);
            assertThat(response.topics().find("missing").errorCode())
                    .isEqualTo(Errors.UNKNOWN_TOPIC_OR_PARTITION.code());
            assertThat(response.topics().find("bad/name").errorCode())
                    .isEqualTo(Errors.INVALID_TOPIC_EXCEPTION.code());
            assertThat(response.topics().find("c").errorCode()).isEqualTo(Errors.NONE.code());
            assertThat(response.topics().find("c").isInternal()).isFalse();
            assertThat(response.topics().find("c").partitions().get(0).eligibleLeaderReplicas()).isEmpty();
            assertThat(response.nextCursor()).isNull();

            // A cursor naming a topic that was not asked for
            DescribeTopicPartitionsResponseData bad = describe(client, List.of("a"), 10,
                    new DescribeTopicPartitionsRequestData.Cursor().setTopicName("b").setPartitionIndex(0));
            assertThat(bad.topics().find("a").errorCode()).isEqualTo(Errors.INVALID_REQUEST.code());
            // A negative partition in the cursor
            DescribeTopicPartitionsResponseData negative = describe(client, List.of("a"), 10,
                    new DescribeTopicPartitionsRequestData.Cursor().setTopicName("a").setPartitionIndex(-1));
            assertThat(negative.topics().find("a").errorCode()).isEqualTo(Errors.INVALID_REQUEST.code());
        }
    }

    private static DescribeTopicPartitionsResponseData describe(WireClient client, List<String> topics, int limit,
            DescribeTopicPartitionsRequestData.Cursor cursor) throws Exception {
        DescribeTopicPartitionsRequestData request = new DescribeTopicPartitionsRequestData()
                .setResponsePartitionLimit(limit).setCursor(cursor);
        topics.forEach(t -> request.topics().add(new DescribeTopicPartitionsRequestData.TopicRequest().setName(t)));
        return (DescribeTopicPartitionsResponseData) client.send(ApiKeys.DESCRIBE_TOPIC_PARTITIONS, (short) 0,
                request);
    }
}
