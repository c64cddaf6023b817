package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.node.it.KafkaRequests.PartitionState;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.message.OffsetForLeaderEpochRequestData;
import org.apache.kafka.common.message.OffsetForLeaderEpochResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * OffsetForLeaderEpoch (KIP-320) after a real leader change: the new leader answers, for the old leader's epoch,
 * where that epoch ended (the offset at which its own epoch began), not its log end offset, so that a consumer
 * holding a position from the old epoch can detect truncation. Answers as Kafka's
 * {@code Partition.lastOffsetForLeaderEpoch}.
 *
 * <p>The killed leader is never the active metadata controller (as in {@code LeaderFailoverIT}): a controller
 * fail-over is not this test's subject.
 */
class OffsetForLeaderEpochIT {
    private static final int NODES = 3;
    private static final int PARTITIONS = NODES;
    private static final String TOPIC = "epochs";
    private static final short VERSION = 4;
    private static final int BATCH_RECORDS = 10;
    /** Records written in the first leader epoch, then in the next one. */
    private static final int FIRST_EPOCH_BATCHES = 3;
    private static final int NEXT_EPOCH_BATCHES = 2;
    private static final Duration ELECTION_DEADLINE = Duration.ofSeconds(45);

    /**
     * Longer than the harness' 2 s, as in {@code DivergentTailIT}: on a loaded machine a live broker that misses
     * heartbeats for 2 s is fenced and its partitions change leader before the test writes, which is not this test's
     * subject.
     */
    private static final long SESSION_TIMEOUT_MS = 6_000;

    @RegisterExtension
    static final ClusterProcesses cluster = new ClusterProcesses(NODES, NODES, Map.of(
            "broker.session.timeout.ms", Long.toString(SESSION_TIMEOUT_MS),
            "broker.heartbeat.interval.ms", "500"));

    @Test
    void newLeaderAnswersTheOldEpochsEndAsTheOffsetWhereItsOwnEpochBegan() {
        // Given an RF 3 partition led by a node that is not the active controller, holding N records written with
        // acks=all in the first leader epoch
        Clients.createTopicsRetrying(cluster.bootstrap(), List.of(new NewTopic(TOPIC, PARTITIONS, (short) NODES)
                .configs(Map.of("min.insync.replicas", "2"))), ClusterProcesses.HEALTH_DEADLINE);
        int controller = cluster.controllerId();
        int partitionIndex = IntStream.range(0, PARTITIONS)
                .filter(p -> cluster.awaitFullIsr(TOPIC, p, ClusterProcesses.HEALTH_DEADLINE).leader() != controller)
                .findFirst()
                .orElseThrow(() -> new AssertionError("every partition of " + TOPIC + " is led by the active"
                        + " controller " + controller));
        TopicPartition partition = new TopicPartition(TOPIC, partitionIndex);
        PartitionState initial = cluster.awaitFullIsr(TOPIC, partitionIndex, ClusterProcesses.HEALTH_DEADLINE);
        int oldLeader = initial.leader();
        int firstEpoch = initial.leaderEpoch();
        assertThat(firstEpoch).as("leader epoch of the new partition %s", initial).isZero();
        for (int batch = 0; batch < FIRST_EPOCH_BATCHES; batch++) {
            KafkaRequests.produceUntilAccepted(cluster.port(oldLeader), partition, KafkaRequests.ACKS_ALL,
                    FollowerFailureIT.values("first-" + batch, BATCH_RECORDS), ClusterProcesses.HEALTH_DEADLINE);
        }
        long firstEpochEnd = (long) FIRST_EPOCH_BATCHES * BATCH_RECORDS;
        assertThat(cluster.awaitFullIsr(TOPIC, partitionIndex, ClusterProcesses.HEALTH_DEADLINE))
                .as("the partition after the first epoch's writes: same leader and epoch, so all N are in epoch %d",
                        firstEpoch)
                .isEqualTo(initial);

        // When the leader is SIGKILLed, a follower takes over with a higher epoch, and M more records are written
        cluster.kill(oldLeader);
        PartitionState elected = cluster.awaitPartition(TOPIC, partitionIndex,
                "a leader other than node " + oldLeader + " with an epoch above " + firstEpoch,
                state -> state.leader() >= 0 && state.leader() != oldLeader && state.leaderEpoch() > firstEpoch,
                ELECTION_DEADLINE);
        int newLeader = elected.leader();
        int currentEpoch = elected.leaderEpoch();
        for (int batch = 0; batch < NEXT_EPOCH_BATCHES; batch++) {
            KafkaRequests.produceUntilAccepted(cluster.port(newLeader), partition, KafkaRequests.ACKS_ALL,
                    FollowerFailureIT.values("next-" + batch, BATCH_RECORDS), ELECTION_DEADLINE);
        }
        long logEndOffset = firstEpochEnd + (long) NEXT_EPOCH_BATCHES * BATCH_RECORDS;

        // Then, for the first epoch and any epoch before the current one, the new leader answers the first epoch
        // and the offset N where the current epoch began
        for (int epoch = firstEpoch; epoch < currentEpoch; epoch++) {
            OffsetForLeaderEpochResponseData.EpochEndOffset answer =
                    offsetForLeaderEpoch(newLeader, partition, currentEpoch, epoch);
            assertThat(answer.errorCode()).as("error for epoch %d: %s", epoch, answer).isEqualTo(Errors.NONE.code());
            assertThat(answer.leaderEpoch()).as("epoch answered for epoch %d", epoch).isEqualTo(firstEpoch);
            assertThat(answer.endOffset()).as("end offset answered for epoch %d", epoch).isEqualTo(firstEpochEnd);
        }

        // And for the current epoch, the log end offset
        OffsetForLeaderEpochResponseData.EpochEndOffset current =
                offsetForLeaderEpoch(newLeader, partition, currentEpoch, currentEpoch);
        assertThat(current.errorCode()).as("error for the current epoch: %s", current).isEqualTo(Errors.NONE.code());
        assertThat(current.leaderEpoch()).isEqualTo(currentEpoch);
        assertThat(current.endOffset()).as("end offset of the current epoch %d", currentEpoch)
                .isEqualTo(logEndOffset);

        // And a client that still believes in the first epoch is fenced
        OffsetForLeaderEpochResponseData.EpochEndOffset fenced =
                offsetForLeaderEpoch(newLeader, partition, firstEpoch, firstEpoch);
        assertThat(fenced.errorCode()).as("error for current leader epoch %d: %s", firstEpoch, fenced)
                .isEqualTo(Errors.FENCED_LEADER_EPOCH.code());
    }

    /** OffsetForLeaderEpoch v4 as a consumer (replica id -1) to node {@code nodeId}, for one partition. */
    private static OffsetForLeaderEpochResponseData.EpochEndOffset offsetForLeaderEpoch(int nodeId,
            TopicPartition partition, int currentLeaderEpoch, int leaderEpoch) {
        OffsetForLeaderEpochRequestData.OffsetForLeaderTopic topic =
                new OffsetForLeaderEpochRequestData.OffsetForLeaderTopic().setTopic(partition.topic());
        topic.partitions().add(new OffsetForLeaderEpochRequestData.OffsetForLeaderPartition()
                .setPartition(partition.partition())
                .setCurrentLeaderEpoch(currentLeaderEpoch)
                .setLeaderEpoch(leaderEpoch));
        OffsetForLeaderEpochRequestData request = new OffsetForLeaderEpochRequestData().setReplicaId(-1);
        request.topics().add(topic);
        OffsetForLeaderEpochResponseData response = new OffsetForLeaderEpochResponseData(
                KafkaRequests.send(cluster.port(nodeId), ApiKeys.OFFSET_FOR_LEADER_EPOCH, VERSION, request,
                        Duration.ofSeconds(10)),
                VERSION);
        OffsetForLeaderEpochResponseData.OffsetForLeaderTopicResult result = response.topics().find(partition.topic());
        assertThat(result).as("topic %s in %s", partition.topic(), response).isNotNull();
        assertThat(result.partitions()).as("partitions in %s", response).hasSize(1);
        return result.partitions().get(0);
    }
}
