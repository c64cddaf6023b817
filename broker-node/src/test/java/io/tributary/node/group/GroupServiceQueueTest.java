package io.tributary.node.group;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tributary.replication.ReplicaManager;
import io.tributary.replication.ReplicationConfig;
import io.tributary.storage.LogConfig;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 12: group requests waiting for the coordinator thread have a bound; the excess is answered at once. */
class GroupServiceQueueTest {

    private static final int MAX_QUEUED = 2;

    @TempDir
    Path dir;
    private ReplicaManager replicas;
    private GroupService groups;

    @AfterEach
    void close() throws Exception {
        if (groups != null) {
            groups.close();
        }
        if (replicas != null) {
            replicas.close();
        }
    }

    private static Errors errorOf(CompletableFuture<?> call) {
        try {
            call.get();
            return Errors.NONE;
        } catch (ExecutionException e) {
            return ((GroupService.NotServedException) e.getCause()).error();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void callsBeyondTheBoundAreAnsweredCoordinatorNotAvailableWithoutQueueing() throws Exception {
        replicas = new ReplicaManager(1, dir, LogConfig.DEFAULTS, Clock.systemUTC(), ReplicationConfig.DEFAULTS);
        groups = new GroupService(1, replicas, GroupCoordinatorConfig.defaults(), System::currentTimeMillis, 50,
                MAX_QUEUED);
        // Given a coordinator thread held busy
        CountDownLatch release = new CountDownLatch(1);
        groups.runOnCoordinatorThread(() -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });

        // when more group requests arrive than may wait for it
        List<CompletableFuture<Object>> queued = List.of(call("a"), call("b"));
        CompletableFuture<Object> excess = call("c");

        // then those within the bound wait, counted, and the excess is answered at once with a retriable error
        assertThat(groups.queuedCalls()).isEqualTo(MAX_QUEUED);
        assertThat(queued).noneMatch(CompletableFuture::isDone);
        assertThat(excess).isDone();
        assertThat(errorOf(excess)).isEqualTo(Errors.COORDINATOR_NOT_AVAILABLE);

        // and once the thread is free the waiting ones are served (this node coordinates nothing) and leave the count
        release.countDown();
        for (CompletableFuture<Object> call : queued) {
            assertThat(errorOf(call)).isEqualTo(Errors.NOT_COORDINATOR);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> groups.queuedCalls() == 0);
    }

    private CompletableFuture<Object> call(String group) {
        return groups.call(group, ctx -> CompletableFuture.completedFuture(null), () -> null);
    }
}
