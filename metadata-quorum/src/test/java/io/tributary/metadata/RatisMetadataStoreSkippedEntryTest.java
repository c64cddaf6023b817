package io.tributary.metadata;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import io.tributary.proto.metadata.MetadataRecord;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.stream.Stream;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real single-voter Ratis store gets committed entries that cannot be applied. Regression tests for apply throwing
 * on them: Ratis' state machine updater stopped, the voter closed, and as every restart replays the same committed
 * entry, the quorum never recovered.
 */
class RatisMetadataStoreSkippedEntryTest {

    @TempDir
    Path dir;

    private QuorumConfig config;
    private RatisMetadataStore store;

    @BeforeEach
    void start() throws IOException {
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        // No snapshot in these tests: a restart replays every entry from the Ratis log, the bad ones included.
        config = new QuorumConfig(Map.of(1, InetSocketAddress.createUnresolved("127.0.0.1", port)),
                dir.resolve("node-1"), 300, 600, 3_000, 10_000, 8192);
        store = startVoter();
    }

    @AfterEach
    void stop() throws IOException {
        if (store != null) {
            store.close();
        }
    }

    private RatisMetadataStore startVoter() throws IOException {
        RatisMetadataStore started = RatisMetadataStore.start(1, config);
        await().atMost(Duration.ofSeconds(30)).until(started::isLeaderReady);
        return started;
    }

    private static List<MetadataRecord> register(int brokerId) {
        return ControllerDecisions.registerBroker(brokerId, "inc", List.of(), null).records();
    }

    @Test
    void undecodableEntryIsSkippedAndLaterBatchesApplyAfterEveryRestart() throws Exception {
        // Given an entry committed through a real Ratis client whose bytes are not a MetadataBatch
        // (field 1, length-delimited, claims 127 bytes and has none),
        RaftClientReply reply;
        // (Bounded retries: a voter that stops on the entry would otherwise be retried forever.)
        try (RaftClient client = RaftClient.newBuilder().setProperties(RatisSupport.clientProperties(config))
                .setRaftGroup(RatisSupport.group(config.voters()))
                .setRetryPolicy(RetryPolicies.retryUpToMaximumCountWithFixedSleep(20, RatisSupport.ms(100)))
                .build()) {
            reply = client.io().send(Message.valueOf(ByteString.copyFrom(new byte[] {0x0A, 0x7F})));
        }
        assertThat(reply.isSuccess()).isTrue();
        assertThat(reply.getMessage().getContent().toStringUtf8()).contains("was skipped", "does not decode");
        long skippedIndex = reply.getLogIndex();

        // when a valid batch is committed after it,
        store.commit(register(1)).join();

        // then the valid batch is applied, and the bad entry only counted;
        assertThat(store.image().brokers()).containsOnlyKeys(1);
        assertThat(store.skippedEntries()).isEqualTo(1);
        assertThat(store.appliedIndex()).isGreaterThan(skippedIndex);

        // and a restart (from the snapshot Ratis takes on stop) has the same image, and commits still work;
        MetadataImage before = store.image();
        restart(false);
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(store.image()).isEqualTo(before));
        store.commit(register(2)).join();
        assertThat(store.image().brokers()).containsOnlyKeys(1, 2);

        // and a restart without snapshots replays the whole log, skipping the bad entry the same way again.
        MetadataImage last = store.image();
        restart(true);
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(store.image()).isEqualTo(last));
        assertThat(store.skippedEntries()).isEqualTo(1);
    }

    /** Restarts the voter; without its snapshots, if asked (its log is not purged: no snapshot was ever due). */
    private void restart(boolean dropSnapshots) throws IOException {
        store.close();
        store = null;
        if (dropSnapshots) {
            try (Stream<Path> files = Files.walk(dir.resolve("node-1"))) {
                for (Path snapshot : files.filter(p -> p.getFileName().toString().startsWith("snapshot.")).toList()) {
                    Files.delete(snapshot);
                }
            }
        }
        store = startVoter();
    }

    @Test
    void batchWithARecordThatDoesNotApplyIsSkippedWholeAndItsCommitFails() throws Exception {
        List<MetadataImage> published = new ArrayList<>();
        store.addListener((previous, next) -> published.add(next));
        MetadataImage before = store.image();

        // Given a batch whose first record is valid and whose second has no type (MetadataImage.apply rejects it),
        List<MetadataRecord> batch = new ArrayList<>(register(1));
        batch.add(MetadataRecord.getDefaultInstance());

        // when it is committed, then the commit fails, saying so,
        Throwable failure = catchThrowable(() -> store.commit(batch).join());
        assertThat(failure).isInstanceOf(CompletionException.class)
                .hasMessageContaining("was not applied")
                .hasMessageContaining("its records do not apply to the image");

        // and no part of the batch is in the image: the valid first record was not applied either.
        assertThat(store.image()).isSameAs(before);
        assertThat(published).containsExactly(before);
        assertThat(store.skippedEntries()).isEqualTo(1);
        store.commit(register(2)).join();
        assertThat(store.image().brokers()).containsOnlyKeys(2);
    }
}
