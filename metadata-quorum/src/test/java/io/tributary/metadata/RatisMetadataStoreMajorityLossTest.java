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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real three-voter Ratis quorum in this JVM loses its majority, then gets it back. Regression test for 93a8b0c:
 * the controller committed through Ratis' ordered async client, which, once one request exhausted its retries,
 * refused every later request ("RAFT is closed"), so the controller could never commit again, even with the majority
 * back. Commits now go to the voter's own server; a commit without a majority fails when the leader steps down.
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
    void theQuorumCommitsAgainAfterACommitFailedWhileTheMajorityWasDown() throws Exception {
        // Short election timeouts: the leader without a majority steps down (failing the commit) sooner.
        voters = new InProcessVoters(dir, 3, (addresses, storage) -> new QuorumConfig(addresses, storage, 300, 600,
                1_000, 1_000, 8192));
        voters.start(List.of(1, 2, 3));
        // Given a quorum whose leader has committed through its store,
        RatisMetadataStore leader = voters.awaitLeader(LEADER_DEADLINE);
        await().atMost(Duration.ofSeconds(20)).untilAsserted(
                () -> assertThat(leader.commit(register("before"))).succeedsWithin(Duration.ofSeconds(10)));

        // when both followers stop, a commit through the leader's store fails (its voter steps down without a
        // majority) rather than waiting for them,
        List<Integer> followers = voters.running().entrySet().stream().filter(e -> e.getValue() != leader)
                .map(Map.Entry::getKey).toList();
        voters.stop(followers);
        Throwable failure = catchThrowable(() -> leader.commit(register("during")).get(20, TimeUnit.SECONDS));
        assertThat(failure).isInstanceOf(ExecutionException.class).hasMessageContaining("not the leader");

        // and the followers restart on the same storage and ports,
        voters.start(followers);

        // then the quorum commits again through whichever voter leads now, and the old leader's image has the record.
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(
                voters.awaitLeader(LEADER_DEADLINE).commit(register("after"))).succeedsWithin(Duration.ofSeconds(10)));
        await().atMost(Duration.ofSeconds(10)).untilAsserted(
                () -> assertThat(leader.image().brokers().get(7).incarnationId()).isEqualTo("after"));
    }
}
