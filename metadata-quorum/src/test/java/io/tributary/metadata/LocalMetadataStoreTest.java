package io.tributary.metadata;

import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.proto.metadata.ControllerErrorCode;
import io.tributary.proto.metadata.ControllerRequest;
import io.tributary.proto.metadata.CreateTopicRequest;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
        List<Long> seenOffsets = new ArrayList<>();
        try (LocalMetadataStore store = LocalMetadataStore.open(dir)) {
            store.addListener((previous, next) -> seenOffsets.add(next.offset()));
            try (Controller controller = new Controller(1, store, () -> new UUID(5, 6))) {
                controller.registerAndUnfence(1, "inc", List.of(
                        new BrokerRegistration.BrokerEndpoint("PLAINTEXT", "127.0.0.1", 9092)), null).join();
                assertThat(createTopic(controller, "t", 2, Map.of("retention.ms", "5"))).isEqualTo(ControllerErrorCode.NONE);
            }
        }
        assertThat(seenOffsets).containsExactly(-1L, 0L, 1L, 2L);
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
}
