package io.tributary.metadata;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import io.tributary.proto.metadata.MetadataRecord;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
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

    @TempDir
    Path dir;

    private final Map<Integer, RatisMetadataStore> voters = new ConcurrentHashMap<>();
    private final Map<Integer, InetSocketAddress> addresses = new HashMap<>();

    @AfterEach
    void stopAll() {
        closeInParallel(List.copyOf(voters.values()));
    }

    /** Closing a voter waits seconds for its gRPC channels to shut down gracefully; closing in parallel saves time. */
    private static void closeInParallel(List<RatisMetadataStore> stores) {
        CompletableFuture.allOf(stores.stream().map(store -> CompletableFuture.runAsync(() -> {
            try {
                store.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        })).toArray(CompletableFuture[]::new)).join();
    }

    /** Starts the voters on their storage and ports; in parallel, as each start takes about a second. */
    private void start(List<Integer> ids) {
        CompletableFuture.allOf(ids.stream().map(id -> CompletableFuture.runAsync(() -> {
            // A 1 s request timeout (not the usual 3 s): the commit without a majority fails sooner.
            QuorumConfig config = new QuorumConfig(addresses, dir.resolve("node-" + id), 300, 600, 1_000, 1_000, 8192);
            try {
                voters.put(id, RatisMetadataStore.start(id, config));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        })).toArray(CompletableFuture[]::new)).join();
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

    private static List<MetadataRecord> register(String incarnationId) {
        return ControllerDecisions.registerBroker(7, incarnationId, List.of(), null).records();
    }

    @Test
    void leaderCommitsAgainAfterACommitFailedWhileTheMajorityWasDown() throws Exception {
        for (int id = 1; id <= 3; id++) {
            addresses.put(id, InetSocketAddress.createUnresolved("127.0.0.1", freePort()));
        }
        start(List.of(1, 2, 3));
        // Given a quorum whose leader has committed through its store,
        RatisMetadataStore leader = awaitLeader();
        await().atMost(Duration.ofSeconds(20)).untilAsserted(
                () -> assertThat(leader.commit(register("before"))).succeedsWithin(Duration.ofSeconds(10)));

        // when both followers stop, a commit through the leader's store exhausts its retries and fails,
        List<Integer> followers = voters.entrySet().stream().filter(e -> e.getValue() != leader)
                .map(Map.Entry::getKey).toList();
        closeInParallel(followers.stream().map(voters::remove).toList());
        Throwable failure = catchThrowable(() -> leader.commit(register("during")).get(20, TimeUnit.SECONDS));
        assertThat(failure).isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(RaftRetryFailureException.class);

        // and the followers restart on the same storage and ports,
        start(followers);
        awaitLeader();

        // then the same store commits again (through whichever voter leads now), and its image has the record.
        await().atMost(Duration.ofSeconds(20)).untilAsserted(
                () -> assertThat(leader.commit(register("after"))).succeedsWithin(Duration.ofSeconds(10)));
        await().atMost(Duration.ofSeconds(10)).untilAsserted(
                () -> assertThat(leader.image().brokers().get(7).incarnationId()).isEqualTo("after"));
    }
}
