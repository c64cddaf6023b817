package io.tributary.metadata;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real three-voter Ratis quorum in this JVM, over real sockets: commits reach every voter, the state survives a
 * restart of all voters, and a voter whose storage was wiped catches up from a snapshot after the log was purged.
 */
class RatisMetadataStoreTest {

    @TempDir
    Path dir;

    private final Map<Integer, RatisMetadataStore> voters = new HashMap<>();
    private QuorumConfigFactory configs;

    @AfterEach
    void stopAll() throws IOException {
        for (RatisMetadataStore store : voters.values()) {
            store.close();
        }
    }

    /** Voters 1-3 on free ports, snapshot every 5 entries. */
    private record QuorumConfigFactory(Map<Integer, InetSocketAddress> addresses, Path root) {
        QuorumConfig forNode(int id) {
            return new QuorumConfig(addresses, root.resolve("node-" + id), 300, 600, 3_000, 5, 8192);
        }
    }

    private RatisMetadataStore start(int id) throws IOException {
        RatisMetadataStore store = RatisMetadataStore.start(id, configs.forNode(id));
        voters.put(id, store);
        return store;
    }

    private RatisMetadataStore awaitLeader() {
        return await().atMost(Duration.ofSeconds(30)).until(
                () -> voters.values().stream().filter(RatisMetadataStore::isLeaderReady).findFirst().orElse(null),
                leader -> leader != null);
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    private void createTopics(RatisMetadataStore leader, int from, int to) {
        for (int i = from; i < to; i++) {
            MetadataImage image = leader.image();
            leader.commit(ControllerDecisions.registerBroker(1, "inc", List.of(), null).records()).join();
            ControllerResult<TopicImage> created = ControllerDecisions.createTopic(leader.image(), "t" + i, 1, 1,
                    Map.of(), new UUID(7, i));
            if (created.failed()) {
                // Brokers register fenced: unfence broker 1 once so that topics can be placed.
                leader.commit(ControllerDecisions.unfenceBroker(leader.image(), 1).records()).join();
                created = ControllerDecisions.createTopic(leader.image(), "t" + i, 1, 1, Map.of(), new UUID(7, i));
            }
            assertThat(image).isNotNull();
            leader.commit(created.records()).join();
        }
    }

    @Test
    void commitsReachEveryVoterSurviveRestartAndAWipedVoterCatchesUpFromASnapshot() throws Exception {
        Map<Integer, InetSocketAddress> addresses = new HashMap<>();
        for (int id = 1; id <= 3; id++) {
            addresses.put(id, InetSocketAddress.createUnresolved("127.0.0.1", freePort()));
        }
        configs = new QuorumConfigFactory(addresses, dir);
        for (int id = 1; id <= 3; id++) {
            start(id);
        }
        createTopics(awaitLeader(), 0, 3);
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> voters.values().forEach(
                v -> assertThat(v.image().topics()).containsKeys("t0", "t1", "t2")));

        // Given a follower that is down, when enough is committed that the leader snapshots and purges its log,
        RatisMetadataStore leader = awaitLeader();
        int follower = voters.entrySet().stream().filter(e -> e.getValue() != leader).findFirst().orElseThrow()
                .getKey();
        voters.remove(follower).close();
        createTopics(leader, 3, 100);
        await().atMost(Duration.ofSeconds(20)).until(() -> snapshotFiles(leader).findAny().isPresent());

        // then the follower, restarted, catches up (from the leader's snapshot: the entries it lacks are purged).
        RatisMetadataStore rejoined = start(follower);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(
                () -> assertThat(rejoined.image()).isEqualTo(leader.image()));
        assertThat(rejoined.image().topics()).hasSize(100);
        assertThat(rejoined.installedSnapshots()).as("caught up through a snapshot install").isPositive();

        // A restart of every voter restores the same image from snapshots and logs.
        MetadataImage before = leader.image();
        for (RatisMetadataStore v : voters.values()) {
            v.close();
        }
        voters.clear();
        for (int id = 1; id <= 3; id++) {
            start(id);
        }
        awaitLeader();
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> voters.values().forEach(
                v -> assertThat(v.image().topics()).isEqualTo(before.topics())));
    }

    @Test
    void theLeaderKeepsRetryingAnUnreachableVoterWithinAQuarterSecond() throws Exception {
        // Ratis' default waits 5 s between attempts once a voter has failed 30 times: a voter restarted after
        // ~15 s down then waits up to 5 s more before the leader sends it anything (seen in the harness).
        configs = new QuorumConfigFactory(Map.of(1, InetSocketAddress.createUnresolved("127.0.0.1", freePort())),
                dir);
        org.apache.ratis.retry.RetryPolicy policy = start(1).appenderRetryPolicy();
        for (int failures = 1; failures <= 1_000_000; failures *= 2) {
            int attempt = failures;
            org.apache.ratis.retry.RetryPolicy.Action action = policy.handleAttemptFailure(() -> attempt);
            assertThat(action.shouldRetry()).as("retries after %d failures", attempt).isTrue();
            // MultipleLinearRandomRetry sleeps between 0.5 and 1.5 times the configured wait
            assertThat(action.getSleepTime().toLong(java.util.concurrent.TimeUnit.MILLISECONDS))
                    .as("wait after %d failures", attempt).isLessThanOrEqualTo(375);
        }
    }

    @Test
    void aVoterResetsTheReconnectBackoffOfItsChannelsToTheOtherVoters() throws Exception {
        // Ratis' vote requests use channels that sit in gRPC's reconnect backoff after a peer was down: the
        // PeerReconnector resets it (reflectively: Ratis keeps the method on a package-private class). If a Ratis
        // upgrade breaks that, this fails instead of elections silently slowing down after outages.
        Map<Integer, InetSocketAddress> addresses = new HashMap<>();
        for (int id = 1; id <= 3; id++) {
            addresses.put(id, InetSocketAddress.createUnresolved("127.0.0.1", freePort()));
        }
        configs = new QuorumConfigFactory(addresses, dir);
        RatisMetadataStore store = start(1);
        assertThat(store.resetPeerConnectBackoff()).as("channels reset, to voters 2 and 3").isEqualTo(2);
    }

    @Test
    void aBatchDecidedInAnEarlierTermIsSkippedByEveryVoter() throws Exception {
        Map<Integer, InetSocketAddress> addresses = new HashMap<>();
        for (int id = 1; id <= 3; id++) {
            addresses.put(id, InetSocketAddress.createUnresolved("127.0.0.1", freePort()));
        }
        configs = new QuorumConfigFactory(addresses, dir);
        for (int id = 1; id <= 3; id++) {
            start(id);
        }
        RatisMetadataStore deposed = awaitLeader();
        long deposedTerm = deposed.currentTerm();
        // The controller of this term decides a producer id block...
        ControllerResult<Long> stale = ControllerDecisions.allocateProducerIds(deposed.image(), 2, 1000);
        // ...then loses leadership before its write is committed (here: leadership moves to another voter).
        int next = voters.entrySet().stream().filter(e -> e.getValue() != deposed).findFirst().orElseThrow().getKey();
        try (var admin = RatisSupport.client(configs.forNode(next), null,
                org.apache.ratis.retry.RetryPolicies.retryUpToMaximumCountWithFixedSleep(10, RatisSupport.ms(200)))) {
            admin.admin().transferLeadership(RatisSupport.peerId(next), 10_000);
        }
        RatisMetadataStore leader = await().atMost(Duration.ofSeconds(30)).until(this::awaitLeader,
                l -> l != deposed && l.currentTerm() > deposedTerm);
        long term = leader.currentTerm();

        // Its write goes to its own voter, which no longer leads: refused, never logged.
        assertThatThrownBy(() -> deposed.commit(stale.records(), deposedTerm).join())
                .hasMessageContaining("not the leader");

        // A batch of the old term that reaches the log in the new one (a controller that was deposed and leads again
        // before its commit went out) is skipped by every voter.
        assertThatThrownBy(() -> leader.commit(stale.records(), deposedTerm).join())
                .hasCauseInstanceOf(FencedBatchException.class);
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> voters.values().forEach(
                v -> assertThat(v.appliedIndex()).isGreaterThanOrEqualTo(leader.appliedIndex())));
        voters.values().forEach(v -> assertThat(v.image().nextProducerId()).isZero());

        // The active controller's own decision, of the current term, applies; the block is handed out once.
        ControllerResult<Long> current = ControllerDecisions.allocateProducerIds(leader.image(), 1, 1000);
        assertThat(current.response()).isEqualTo(stale.response());
        leader.commit(current.records(), term).join();
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> voters.values().forEach(
                v -> assertThat(v.image().nextProducerId()).isEqualTo(1000L)));
    }

    private Stream<Path> snapshotFiles(RatisMetadataStore store) throws IOException {
        int id = voters.entrySet().stream().filter(e -> e.getValue() == store).findFirst().orElseThrow().getKey();
        try (Stream<Path> files = Files.walk(dir.resolve("node-" + id))) {
            return files.filter(p -> p.getFileName().toString().startsWith("snapshot.")).toList().stream();
        }
    }
}
