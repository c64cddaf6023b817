package io.tributary.node.it;

import static org.awaitility.Awaitility.await;

import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.message.FindCoordinatorRequestData;
import org.apache.kafka.common.message.FindCoordinatorResponseData;
import org.apache.kafka.common.message.HeartbeatRequestData;
import org.apache.kafka.common.message.HeartbeatResponseData;
import org.apache.kafka.common.message.OffsetCommitRequestData;
import org.apache.kafka.common.message.OffsetCommitResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.Errors;

/**
 * Group-protocol requests sent to one node's port, encoded and decoded with kafka-clients' own message classes, for
 * the requests a well-behaved {@code KafkaConsumer} never sends: a commit or heartbeat from a member the coordinator
 * does not know, from a stale generation, or to a topic that does not exist. Like {@link KafkaRequests}, each call
 * opens a connection, sends one request and reads one response.
 */
final class GroupRequests {
    /** v4+: batched coordinator keys. */
    static final short FIND_COORDINATOR_VERSION = 4;
    /** The last OffsetCommit version that names topics and carries a classic generation id. */
    static final short OFFSET_COMMIT_VERSION = 8;
    static final short HEARTBEAT_VERSION = 4;
    private static final Duration RESPONSE_DEADLINE = Duration.ofSeconds(15);

    private GroupRequests() {}

    /** A FindCoordinator answer for one group: the error and, with NONE, the coordinator's node id. */
    record Coordinator(Errors error, int nodeId) {}

    /** FindCoordinator v4 for group {@code groupId} asked of the node on {@code port}. */
    static Coordinator findCoordinator(int port, String groupId) {
        FindCoordinatorRequestData request = new FindCoordinatorRequestData()
                .setKeyType((byte) 0)
                .setCoordinatorKeys(List.of(groupId));
        FindCoordinatorResponseData response = new FindCoordinatorResponseData(
                send(port, ApiKeys.FIND_COORDINATOR, FIND_COORDINATOR_VERSION, request), FIND_COORDINATOR_VERSION);
        FindCoordinatorResponseData.Coordinator answer = response.coordinators().get(0);
        return new Coordinator(Errors.forCode(answer.errorCode()), answer.nodeId());
    }

    /**
     * Asks the node on {@code port} for the coordinator of {@code groupId} until it names one (the first ask creates
     * {@code __consumer_offsets}; leaders take a moment to be elected) and returns its node id.
     */
    static int awaitCoordinator(int port, String groupId, Duration deadline) {
        int[] found = new int[1];
        await("a coordinator for group " + groupId + " named by the node on port " + port)
                .atMost(deadline)
                .pollInterval(Duration.ofMillis(250))
                .ignoreExceptionsInstanceOf(UncheckedIOException.class)
                .until(() -> {
                    Coordinator answer = findCoordinator(port, groupId);
                    found[0] = answer.nodeId();
                    return answer.error() == Errors.NONE;
                });
        return found[0];
    }

    /** OffsetCommit v8 of one offset as member {@code memberId} of {@code generationId}; returns its error. */
    static Errors commitOffset(int port, String groupId, String memberId, int generationId, TopicPartition partition,
            long offset) {
        OffsetCommitRequestData request = new OffsetCommitRequestData()
                .setGroupId(groupId)
                .setMemberId(memberId)
                .setGenerationIdOrMemberEpoch(generationId)
                .setTopics(List.of(new OffsetCommitRequestData.OffsetCommitRequestTopic()
                        .setName(partition.topic())
                        .setPartitions(List.of(new OffsetCommitRequestData.OffsetCommitRequestPartition()
                                .setPartitionIndex(partition.partition())
                                .setCommittedOffset(offset)
                                .setCommittedLeaderEpoch(-1)
                                .setCommittedMetadata("")))));
        OffsetCommitResponseData response = new OffsetCommitResponseData(
                send(port, ApiKeys.OFFSET_COMMIT, OFFSET_COMMIT_VERSION, request), OFFSET_COMMIT_VERSION);
        for (OffsetCommitResponseData.OffsetCommitResponseTopic topic : response.topics()) {
            for (OffsetCommitResponseData.OffsetCommitResponsePartition answer : topic.partitions()) {
                if (topic.name().equals(partition.topic()) && answer.partitionIndex() == partition.partition()) {
                    return Errors.forCode(answer.errorCode());
                }
            }
        }
        throw new AssertionError("no answer for " + partition + " in " + response);
    }

    /** Heartbeat v4 as member {@code memberId} of {@code generationId}; returns the error. */
    static Errors heartbeat(int port, String groupId, String memberId, int generationId) {
        HeartbeatRequestData request = new HeartbeatRequestData()
                .setGroupId(groupId)
                .setMemberId(memberId)
                .setGenerationId(generationId);
        HeartbeatResponseData response = new HeartbeatResponseData(
                send(port, ApiKeys.HEARTBEAT, HEARTBEAT_VERSION, request), HEARTBEAT_VERSION);
        return Errors.forCode(response.errorCode());
    }

    private static ByteBufferAccessor send(int port, ApiKeys api, short version, ApiMessage body) {
        return KafkaRequests.send(port, api, version, body, RESPONSE_DEADLINE);
    }
}
