package io.tributary.metadata;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tributary.proto.metadata.MetadataRecord;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real three-voter Ratis quorum whose leader lost both followers, and so stepped down, gets one of them back: the
 * old leader holds the longest log, so it is the only voter that can win, and it must stand again within a few
 * election timeouts. Ratis' default makes a leader that stepped down for lost heartbeats wait 10 s before it may
 * stand; the quorum then stayed leaderless for those 10 s although a majority was back (harness, kill seed 2).
 */
class RatisMetadataStoreStepDownTest {

    private static final long ELECTION_MIN_MS = 300;
    /** Several election timeouts and a voter start on a busy machine; well under Ratis' default 10 s wait. */
    private static final Duration REELECTION_DEADLINE = Duration.ofSeconds(5);

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
    void aLeaderThatLostItsMajorityStandsAgainSoonOnceAFollowerIsBack() throws Exception {
        voters = new InProcessVoters(dir, 3, (addresses, storage) -> new QuorumConfig(addresses, storage,
                ELECTION_MIN_MS, 2 * ELECTION_MIN_MS, 1_000, 1_000, 8192));
        voters.start(List.of(1, 2, 3));
        // Given a quorum whose leader has committed through its store,
        RatisMetadataStore leader = voters.awaitLeader(Duration.ofSeconds(30));
        int leaderId = voters.idOf(leader);
        assertThat(leader.commit(register("before"))).succeedsWithin(Duration.ofSeconds(10));

        // when one follower stops and the other two commit an entry it does not have,
        List<Integer> followers = voters.running().keySet().stream().filter(id -> id != leaderId).sorted().toList();
        int behind = followers.get(0);
        voters.stop(List.of(behind));
        assertThat(leader.commit(register("without-" + behind))).succeedsWithin(Duration.ofSeconds(10));
        // then the other follower stops too and the leader steps down for lost heartbeats,
        voters.stop(List.of(followers.get(1)));
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).until(() -> !leader.isLeaderReady());

        // and the follower that is behind (it cannot win: the old leader's log is longer) restarts,
        voters.start(List.of(behind));
        long restartedAt = System.nanoTime();

        // then the old leader is elected again within a few election timeouts, not after Ratis' 10 s wait
        RatisMetadataStore elected = voters.awaitLeader(REELECTION_DEADLINE);
        System.out.printf("RatisMetadataStoreStepDownTest: leader again %d ms after the follower restarted%n",
                Duration.ofNanos(System.nanoTime() - restartedAt).toMillis());
        assertThat(elected).isSameAs(leader);
    }
}
