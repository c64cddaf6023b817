package io.tributary.metadata;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.tributary.proto.metadata.ControllerErrorCode;
import io.tributary.proto.metadata.ControllerRequest;
import io.tributary.proto.metadata.CreateTopicRequest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class LocalMetadataStoreTest {

    @TempDir
    Path dir;

    private static ControllerErrorCode createTopic(Controller controller, String name, int partitions,
            Map<String, String> configs) {
        return controller.handle(ControllerRequest.newBuilder().setCreateTopic(CreateTopicRequest.newBuilder()
                .setName(name).setPartitions(partitions).setReplicationFactor(1).putAllConfigs(configs)).build())
                .join().getError();
    }

    @Test
    void committedBatchesSurviveReopenAndListenersSeeEveryChange() throws IOException {
        List<Long> seenOffsets = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (LocalMetadataStore store = LocalMetadataStore.open(dir)) {
            store.addListener((previous, next) -> seenOffsets.add(next.offset()));
            try (Controller controller = new Controller(1, store, () -> new UUID(5, 6))) {
                controller.registerAndUnfence(1, "inc", List.of(
                        new BrokerRegistration.BrokerEndpoint("PLAINTEXT", "127.0.0.1", 9092)), null).join();
                assertThat(createTopic(controller, "t", 2, Map.of("retention.ms", "5"))).isEqualTo(ControllerErrorCode.NONE);
            }
            // Listeners run on the publisher thread and may see several batches as one change, always in order.
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
                    .until(() -> !seenOffsets.isEmpty() && seenOffsets.get(seenOffsets.size() - 1) == 2L);
        }
        assertThat(seenOffsets).isSorted().doesNotHaveDuplicates().startsWith(-1L);
        try (LocalMetadataStore reopened = LocalMetadataStore.open(dir)) {
            assertThat(reopened.image().topic("t").partitions()).hasSize(2);
            assertThat(reopened.image().topic("t").configs()).containsEntry("retention.ms", "5");
            assertThat(reopened.image().liveBrokers()).hasSize(1);
            assertThat(reopened.image().offset()).isEqualTo(2);
        }
    }

    @Test
    void tornFinalFrameIsTruncatedOnOpen() throws IOException {
        try (LocalMetadataStore store = LocalMetadataStore.open(dir);
                Controller controller = new Controller(1, store, () -> new UUID(5, 6))) {
            controller.registerAndUnfence(1, "inc", List.of(
                    new BrokerRegistration.BrokerEndpoint("PLAINTEXT", "127.0.0.1", 9092)), null).join();
            createTopic(controller, "t", 1, Map.of());
        }
        Path file = dir.resolve("metadata.log");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 3);
        }
        try (LocalMetadataStore reopened = LocalMetadataStore.open(dir);
                Controller controller = new Controller(1, reopened, () -> new UUID(7, 8))) {
            assertThat(reopened.image().topic("t")).isNull();
            assertThat(reopened.image().liveBrokers()).hasSize(1);
            // New commits append after the last whole frame and survive another reopen.
            assertThat(createTopic(controller, "u", 1, Map.of())).isEqualTo(ControllerErrorCode.NONE);
        }
        try (LocalMetadataStore again = LocalMetadataStore.open(dir)) {
            assertThat(again.image().topic("u")).isNotNull();
        }
    }

    /** Commits one batch per broker and topic: 2 + topics frames; returns where each frame starts. */
    private List<Integer> writeFrames(int topics) throws IOException {
        try (LocalMetadataStore store = LocalMetadataStore.open(dir)) {
            store.commit(ControllerDecisions.registerBroker(1, "inc", List.of(), null).records()).join();
            store.commit(ControllerDecisions.unfenceBroker(store.image(), 1).records()).join();
            for (int i = 0; i < topics; i++) {
                store.commit(ControllerDecisions.createTopic(store.image(), "t" + i, 1, 1, Map.of(), new UUID(7, i))
                        .records()).join();
            }
        }
        ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(dir.resolve("metadata.log")));
        List<Integer> starts = new ArrayList<>();
        for (int position = 0; position < bytes.limit(); position += 8 + bytes.getInt(position)) {
            starts.add(position);
        }
        assertThat(starts).hasSize(2 + topics);
        return starts;
    }

    @ParameterizedTest(name = "8 bytes flipped in the {0} of the middle frame")
    @ValueSource(strings = {"header", "body"})
    void refusesToOpenWhenAFrameInTheMiddleIsCorruptAndLeavesTheFileAsItIs(String where) throws IOException {
        // Given a log of 7 frames whose middle frame has 8 flipped bytes (its length and CRC, or its protobuf),
        List<Integer> starts = writeFrames(5);
        Path file = dir.resolve("metadata.log");
        byte[] bytes = Files.readAllBytes(file);
        int middle = starts.get(3);
        int from = where.equals("header") ? middle : middle + 8 + (starts.get(4) - middle - 8) / 2 - 4;
        for (int i = from; i < from + 8; i++) {
            bytes[i] = (byte) ~bytes[i];
        }
        Files.write(file, bytes);

        // when the store opens, then it refuses, naming where the corruption is and where valid frames follow,
        Throwable failure = catchThrowable(() -> LocalMetadataStore.open(dir).close());
        assertThat(failure).isInstanceOf(IOException.class)
                .hasMessageContaining("metadata.log is corrupt at byte " + middle)
                .hasMessageContaining("valid frames follow at byte " + starts.get(4))
                .hasMessageContaining("refusing to start");
        // and the file keeps every byte: the frames after the corruption are not truncated away.
        assertThat(Files.readAllBytes(file)).isEqualTo(bytes);
    }

    @Test
    void garbageAfterTheLastFrameIsATornTailAndIsTruncatedOnOpen() throws IOException {
        // Given a log whose last frame is followed by a partial frame header and garbage,
        List<Integer> starts = writeFrames(3);
        Path file = dir.resolve("metadata.log");
        long size = Files.size(file);
        byte[] garbage = {0, 0, 0, 40, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17};
        Files.write(file, garbage, StandardOpenOption.APPEND);

        // when the store opens, then the garbage is truncated and every whole frame is replayed.
        try (LocalMetadataStore reopened = LocalMetadataStore.open(dir)) {
            assertThat(reopened.image().topics()).containsOnlyKeys("t0", "t1", "t2");
            assertThat(reopened.image().offset()).isEqualTo(starts.size() - 1);
        }
        assertThat(Files.size(file)).isEqualTo(size);
    }
}
