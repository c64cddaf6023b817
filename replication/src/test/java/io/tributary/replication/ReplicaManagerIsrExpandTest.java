package io.tributary.replication;

import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.metadata.MetadataImage;
import io.tributary.proto.replication.PartitionFetch;
import io.tributary.proto.replication.ReplicaFetchError;
import io.tributary.proto.replication.ReplicaFetchRequest;
import io.tributary.proto.replication.ReplicaFetchResponse;
import io.tributary.storage.LogConfig;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.SimpleRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A follower outside the ISR rejoins it on the fetch that catches it up (Kafka's maybeExpandIsr on the fetch path),
 * not only at the leader's next periodic ISR check: here no periodic check runs at all.
 */
class ReplicaManagerIsrExpandTest {

    private static final int LEADER = TwoBrokerImages.LEADER;
    private static final int FOLLOWER = TwoBrokerImages.FOLLOWER;
    private static final PartitionId TP = new PartitionId("t", 0);

    @TempDir
    Path dir;
    private ReplicaManager replicas;
    private ReplicationService service;
    private final List<IsrProposal> asked = new CopyOnWriteArrayList<>();
    private long followerEpoch;
    private volatile IsrChangeResult answer;

    @BeforeEach
    void open() throws IOException {
        replicas = new ReplicaManager(LEADER, dir, LogConfig.DEFAULTS, Clock.systemUTC(), ReplicationConfig.DEFAULTS);
        replicas.setController((topicId, partition, proposal) -> {
            asked.add(proposal);
            // null: the controller has not answered yet
            return answer == null ? new CompletableFuture<>() : CompletableFuture.completedFuture(answer);
        }, () -> 1);
        service = new ReplicationService(replicas);
        // t-0 on [1, 2] led by 1 with ISR [1] (2 was out, e.g. restarted).
        MetadataImage image = TwoBrokerImages.ledByOne(TP, List.of(LEADER));
        followerEpoch = image.brokers().get(FOLLOWER).brokerEpoch();
        replicas.onImage(MetadataImage.EMPTY, image);
        assertThat(replicas.partition(TP).isLeader()).isTrue();
    }

    @AfterEach
    void close() {
        replicas.close();
    }

    @Test
    void aFollowerThatCatchesUpIsProposedForTheIsrOnItsFetch() throws Exception {
        ByteBuffer batch = MemoryRecords.withRecords(Compression.NONE, new SimpleRecord("a".getBytes()),
                new SimpleRecord("b".getBytes())).buffer();
        replicas.appendAsLeader(TP, -1, batch, 1);
        long end = replicas.partition(TP).log().logEndOffset();

        // A fetch from behind returns records but proposes nothing: the follower has not caught up
        ReplicaFetchResponse behind = fetch(0, -1);
        assertThat(behind.getPartitions(0).getError()).isEqualTo(ReplicaFetchError.NONE);
        assertThat(behind.getPartitions(0).getRecords().isEmpty()).isFalse();
        assertThat(asked).isEmpty();

        // The fetch at the leader's end (the follower has everything) proposes ISR [1, 2] at once (on the isr-check
        // thread, off the network thread that answers the fetch)
        fetch(end, 1);
        replicas.awaitQueuedIsrChecks();
        assertThat(asked).extracting(IsrProposal::isr).containsExactly(List.of(LEADER, FOLLOWER));

        // and only once while that change is in flight
        fetch(end, 1);
        replicas.awaitQueuedIsrChecks();
        assertThat(asked).hasSize(1);
    }

    @Test
    void aRefusedExpansionIsNotProposedAgainOnEveryFetch() throws Exception {
        answer = IsrChangeResult.REFUSED;
        long end = replicas.partition(TP).log().logEndOffset();
        fetch(end, -1);
        replicas.awaitQueuedIsrChecks();
        assertThat(asked).as("proposed once, refused").hasSize(1);
        fetch(end, -1);
        replicas.awaitQueuedIsrChecks();
        fetch(end, -1);
        replicas.awaitQueuedIsrChecks();
        assertThat(asked).as("no new proposal within the retry backoff").hasSize(1);
    }

    private ReplicaFetchResponse fetch(long offset, int lastFetchedEpoch) throws Exception {
        return service.handle(ReplicaFetchRequest.newBuilder().setReplicaId(FOLLOWER).setBrokerEpoch(followerEpoch)
                .setMaxWaitMs(0).setMaxBytes(1 << 20)
                .addPartitions(PartitionFetch.newBuilder().setTopic(TP.topic()).setPartition(TP.partition())
                        .setFetchOffset(offset).setLastFetchedEpoch(lastFetchedEpoch).setCurrentLeaderEpoch(1))
                .build()).get();
    }
}
