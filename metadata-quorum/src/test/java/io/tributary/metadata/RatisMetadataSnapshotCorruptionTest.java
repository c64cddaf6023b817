package io.tributary.metadata;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.CodedInputStream;
import io.tributary.proto.metadata.ImageSnapshot;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real single-voter Ratis store takes snapshots, stops, and finds its latest snapshot damaged on disk. It must not
 * start: a torn or flipped snapshot could parse as a smaller (even empty) image, and the node would then delete the
 * logs of every topic that image does not name. Regression tests for snapshots loaded without their MD5 checked.
 */
class RatisMetadataSnapshotCorruptionTest {

    private static final Pattern SNAPSHOT = Pattern.compile("snapshot\\.(\\d+)_(\\d+)");
    private static final int TOPICS = 12;

    @TempDir
    Path dir;

    private QuorumConfig config;
    private RatisMetadataStore store;

    @BeforeEach
    void startAndSnapshot() throws IOException {
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        // A snapshot every 5 entries: the 2 + 12 entries below leave snapshots behind.
        config = new QuorumConfig(Map.of(1, InetSocketAddress.createUnresolved("127.0.0.1", port)),
                dir.resolve("node-1"), 300, 600, 3_000, 5, 8192);
        store = RatisMetadataStore.start(1, config);
        await().atMost(Duration.ofSeconds(30)).until(store::isLeaderReady);
        store.commit(ControllerDecisions.registerBroker(1, "inc", List.of(), null).records()).join();
        store.commit(ControllerDecisions.unfenceBroker(store.image(), 1).records()).join();
        for (int i = 0; i < TOPICS; i++) {
            store.commit(ControllerDecisions.createTopic(store.image(), "t" + i, 1, 1, Map.of(), new UUID(7, i))
                    .records()).join();
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> latestSnapshotIndex() >= 10
                && Files.exists(md5Of(latestSnapshot())));
        store.close();
        store = null;
    }

    @AfterEach
    void stop() throws IOException {
        if (store != null) {
            store.close();
        }
    }

    private Stream<Path> snapshots() throws IOException {
        try (Stream<Path> files = Files.walk(dir.resolve("node-1"))) {
            return files.filter(p -> SNAPSHOT.matcher(p.getFileName().toString()).matches()).toList().stream();
        }
    }

    private static long indexOf(Path snapshot) {
        Matcher m = SNAPSHOT.matcher(snapshot.getFileName().toString());
        return m.matches() ? Long.parseLong(m.group(2)) : -1;
    }

    private long latestSnapshotIndex() throws IOException {
        return snapshots().mapToLong(RatisMetadataSnapshotCorruptionTest::indexOf).max().orElse(-1);
    }

    private Path latestSnapshot() throws IOException {
        return snapshots().max(Comparator.comparingLong(RatisMetadataSnapshotCorruptionTest::indexOf)).orElseThrow();
    }

    private static Path md5Of(Path snapshot) {
        return snapshot.resolveSibling(snapshot.getFileName() + ".md5");
    }

    /** Restarts the voter on a state machine watched from before it starts; returns why the start failed. */
    private Throwable restartAndExpectFailure(Path snapshot) {
        MetadataStateMachine stateMachine = new MetadataStateMachine(1);
        List<MetadataImage> published = new ArrayList<>();
        stateMachine.addListener((previous, next) -> published.add(next));
        Throwable failure = catchThrowable(() -> store = RatisMetadataStore.start(1, config, stateMachine));
        assertThat(failure).isInstanceOf(IOException.class)
                .hasMessageContaining("metadata snapshot")
                .hasMessageContaining(snapshot.getFileName() + " is corrupt")
                .hasMessageContaining("refusing to start");
        // Nothing from the damaged snapshot was ever published: only the listener's initial empty image.
        assertThat(published).containsExactly(MetadataImage.EMPTY);
        assertThat(stateMachine.image()).isSameAs(MetadataImage.EMPTY);
        return failure;
    }

    @Test
    void refusesToStartFromASnapshotWithFlippedBytes() throws IOException {
        // Given the latest snapshot with 8 bytes flipped in its middle,
        Path snapshot = latestSnapshot();
        byte[] bytes = Files.readAllBytes(snapshot);
        for (int i = bytes.length / 2; i < bytes.length / 2 + 8; i++) {
            bytes[i] = (byte) ~bytes[i];
        }
        Files.write(snapshot, bytes);

        // when the voter restarts, then it refuses as the snapshot does not match its MD5.
        assertThat(restartAndExpectFailure(snapshot)).hasMessageContaining("but").hasMessageContaining("was saved");
    }

    @Test
    void refusesToStartFromATruncatedSnapshotEvenWhenThePrefixParses() throws IOException {
        // Given the latest snapshot cut at a field boundary in its list of topics: the prefix is itself a valid
        // ImageSnapshot, with fewer topics (what loading the snapshot without its MD5 made of a torn file),
        Path snapshot = latestSnapshot();
        byte[] bytes = Files.readAllBytes(snapshot);
        List<Integer> boundaries = new ArrayList<>();
        CodedInputStream in = CodedInputStream.newInstance(bytes);
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            in.skipField(tag);
            boundaries.add(in.getTotalBytesRead());
        }
        int cut = boundaries.get(boundaries.size() / 2);
        byte[] prefix = java.util.Arrays.copyOf(bytes, cut);
        assertThat(ImageSnapshot.parseFrom(prefix).getTopicsCount()).isBetween(1, TOPICS - 1);
        Files.write(snapshot, prefix);

        // when the voter restarts, then it refuses.
        restartAndExpectFailure(snapshot);
    }

    @Test
    void refusesToStartFromASnapshotWithoutItsMd5() throws IOException {
        // Given snapshots whose MD5 files are all gone (no snapshot can be vouched for),
        for (Path snapshot : snapshots().toList()) {
            Files.delete(md5Of(snapshot));
        }

        // when the voter restarts, then it refuses.
        assertThat(restartAndExpectFailure(latestSnapshot())).hasMessageContaining("is missing");
    }

    @Test
    void refusesToStartWhenTheMd5FileOfTheLatestSnapshotIsUnreadable() throws IOException {
        // Given the latest snapshot's MD5 file overwritten (Ratis' storage then reports no snapshot at all),
        Path snapshot = latestSnapshot();
        Files.writeString(md5Of(snapshot), "not an md5\n");

        // when the voter restarts, then it refuses rather than start from an empty image.
        restartAndExpectFailure(snapshot);
    }

    @Test
    void restartsFromAnIntactSnapshot() throws IOException {
        store = RatisMetadataStore.start(1, config);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(
                () -> assertThat(store.image().topics()).hasSize(TOPICS));
    }
}
