package io.tributary.replication;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.tributary.proto.replication.ReplicaFetchRequest;
import io.tributary.proto.replication.ReplicaFetchResponse;
import io.tributary.proto.replication.ReplicationServiceGrpc;
import io.tributary.storage.LogConfig;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A follower keeps trying to reach a leader that is down, and fetches from it again once it is back. The fetcher's
 * callbacks run on the caller's thread ({@link FetcherLoops}), so a stream that fails as it starts reports the
 * failure inside the call that opens it; a fetcher that then kept the dead stream never reconnected (found in
 * review of the change that introduced the fetcher loops).
 */
class ReplicaFetcherReconnectTest {

    private static final Duration DEADLINE = Duration.ofSeconds(20);

    @TempDir
    Path dir;
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    private final FetcherLoops loops = new FetcherLoops(1);
    private ReplicaManager replicas;
    private ReplicaFetcher fetcher;
    private Server leader;

    @AfterEach
    void close() throws InterruptedException {
        if (fetcher != null) {
            fetcher.close();
        }
        if (leader != null) {
            leader.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        loops.close();
        scheduler.shutdownNow();
        if (replicas != null) {
            replicas.close();
        }
    }

    @Test
    void aFollowerReconnectsToALeaderThatWasDownForSeveralReconnectAttempts() throws Exception {
        // Given: a follower streaming fetches from a leader
        AtomicInteger streamsBefore = new AtomicInteger();
        leader = leader(0, streamsBefore);
        int port = leader.getPort();
        replicas = new ReplicaManager(2, dir, LogConfig.DEFAULTS, Clock.systemUTC(), ReplicationConfig.DEFAULTS);
        fetcher = new ReplicaFetcher(2, 1, "127.0.0.1", port, null, loops, replicas, scheduler, () -> 1L, 500,
                1 << 20);
        fetcher.set(new PartitionId("t", 0), 0);
        await("the follower's stream reaches the leader").atMost(DEADLINE).until(() -> streamsBefore.get() == 1);

        // When: the leader is down while the follower tries to reopen its stream several times
        leader.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        long opened = fetcher.streamsOpened();
        await("the follower tries again while the leader is down").atMost(DEADLINE)
                .until(() -> fetcher.streamsOpened() >= opened + 3);

        // Then: once the leader listens again, the follower's next attempt reaches it
        AtomicInteger streamsAfter = new AtomicInteger();
        leader = leader(port, streamsAfter);
        await("the follower's stream reaches the restarted leader").atMost(DEADLINE)
                .until(() -> streamsAfter.get() >= 1);
        assertThat(fetcher.streamsOpened()).isGreaterThan(opened + 3);
    }

    /** A leader that counts the fetch streams opened to it and never answers. */
    private static Server leader(int port, AtomicInteger streams) throws IOException {
        return NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
                .addService(new ReplicationServiceGrpc.ReplicationServiceImplBase() {
                    @Override
                    public StreamObserver<ReplicaFetchRequest> fetch(StreamObserver<ReplicaFetchResponse> answers) {
                        streams.incrementAndGet();
                        return new StreamObserver<>() {
                            @Override
                            public void onNext(ReplicaFetchRequest request) {
                            }

                            @Override
                            public void onError(Throwable t) {
                            }

                            @Override
                            public void onCompleted() {
                            }
                        };
                    }
                }).build().start();
    }
}
