package io.tributary.metadata;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import io.tributary.proto.metadata.MetadataRecord;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.protocol.exceptions.RaftRetryFailureException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real three-voter Ratis quorum in this JVM loses its majority for longer than the controller's commit retries
 * (20 x 100 ms), then gets it back. Regression test for 93a8b0c: Ratis' ordered async client, once one request
 * exhausted its retries, refused every later request ("RAFT is closed"), so the controller could never commit
 * again, even with the majority back.
 */
class RatisMetadataStoreMajorityLossTest {

    private static final Duration LEADER_DEADLINE = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    private InProcessVoters voters;

    @AfterEach
    void stopAll() {
        if (voters != null) {
            voters.close();
        }
    }

    private static List<MetadataRecord> register(String incarnationId) {
        return ControllerDecisions.registerBroker(7, incarnationId, List.of(), null).records();
    }

    @Test
    void leaderCommitsAgainAfterACommitFailedWhileTheMajorityWasDown() throws Exception {
        // A 1 s request timeout (not the usual 3 s): the commit without a majority fails sooner.
        voters = new InProcessVoters(dir, 3, (addresses, storage) -> new QuorumConfig(addresses, storage, 300, 600,
                1_000, 1_000, 8192));
        voters.start(List.of(1, 2, 3));
        // Given a quorum whose leader has committed through its store,
        RatisMetadataStore leader = voters.awaitLeader(LEADER_DEADLINE);
        await().atMost(Duration.ofSeconds(20)).untilAsserted(
                () -> assertThat(leader.commit(register("before"))).succeedsWithin(Duration.ofSeconds(10)));

        // when both followers stop, a commit through the leader's store exhausts its retries and fails,
        List<Integer> followers = voters.running().entrySet().stream().filter(e -> e.getValue() != leader)
                .map(Map.Entry::getKey).toList();
        voters.stop(followers);
        Throwable failure = catchThrowable(() -> leader.commit(register("during")).get(20, TimeUnit.SECONDS));
        assertThat(failure).isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(RaftRetryFailureException.class);

        // and the followers restart on the same storage and ports,
        voters.start(followers);
        voters.awaitLeader(LEADER_DEADLINE);

        // then the same store commits again (through whichever voter leads now), and its image has the record.
        await().atMost(Duration.ofSeconds(20)).untilAsserted(
                () -> assertThat(leader.commit(register("after"))).succeedsWithin(Duration.ofSeconds(10)));
        await().atMost(Duration.ofSeconds(10)).untilAsserted(
                () -> assertThat(leader.image().brokers().get(7).incarnationId()).isEqualTo("after"));
    }
}
