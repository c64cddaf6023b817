package io.tributary.metadata;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Listeners get metadata images on the publisher's thread: a slow listener (a node opening thousands of logs) never
 * holds up applying the metadata log, so commits, and the controller's answers and fencing decisions that wait on
 * them, go on; and a restarting node publishes nothing until it has caught up with the quorum.
 */
class MetadataPublisherTest {

    @TempDir
    Path dir;

    private static MetadataImage at(long offset) {
        return MetadataImage.EMPTY.apply(io.tributary.proto.metadata.MetadataRecord.newBuilder()
                .setProducerIdBlock(io.tributary.proto.metadata.ProducerIdBlockRecord.newBuilder()
                        .setFirstProducerId(0).setSize(1)).build(), offset);
    }

    @Test
    void aBlockedListenerDoesNotHoldUpPublishingAndThenSeesTheLatestImageInOrder() throws Exception {
        MetadataPublisher publisher = new MetadataPublisher(1);
        CountDownLatch release = new CountDownLatch(1);
        List<Long> seen = new CopyOnWriteArrayList<>();
        publisher.addListener((previous, next) -> {
            if (next.offset() < 0) {
                return; // the empty image a listener gets when added
            }
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            seen.add(next.offset());
        });
        for (long offset = 0; offset < 100; offset++) {
            publisher.publish(at(offset)); // returns while the listener is blocked
        }
        assertThat(release.getCount()).isEqualTo(1);
        release.countDown();
        await().atMost(Duration.ofSeconds(10)).until(() -> !seen.isEmpty() && seen.get(seen.size() - 1) == 99L);
        assertThat(seen).isSorted().doesNotHaveDuplicates().hasSizeLessThan(100);
        assertThat(publisher.publishedOffset()).isEqualTo(99);
        publisher.close();
    }

    /**
     * Listeners added while the log is applied (a node starting: the replica manager, the coordinators) see every
     * image in offset order and end with the last one. Adding a listener once set the next image to the one it read
     * a moment before, which could undo an image the applying thread had just set: that image was lost (a standalone
     * node never saw its own registration and stayed fenced) or published after a newer one.
     */
    @Test
    void listenersAddedWhileImagesArePublishedSeeThemInOrderAndEndWithTheLast() throws Exception {
        for (int round = 0; round < 200; round++) {
            MetadataPublisher publisher = new MetadataPublisher(1);
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong last = new AtomicLong(-1);
            Thread applier = new Thread(() -> {
                for (long offset = 0; !stop.get(); offset++) {
                    publisher.publish(at(offset));
                    last.set(offset);
                }
            }, "applier");
            List<AtomicLong> seen = new CopyOnWriteArrayList<>();
            List<String> outOfOrder = new CopyOnWriteArrayList<>();
            applier.start();
            for (int i = 0; i < 20; i++) {
                AtomicLong lastSeen = new AtomicLong(-2);
                seen.add(lastSeen);
                publisher.addListener((previous, next) -> {
                    if (next.offset() <= lastSeen.get()) {
                        outOfOrder.add(next.offset() + " after " + lastSeen.get());
                    }
                    lastSeen.set(next.offset());
                });
            }
            stop.set(true);
            applier.join();
            await().pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(1)).atMost(Duration.ofSeconds(10))
                    .until(() -> seen.stream().allMatch(lastSeen -> lastSeen.get() == last.get()));
            assertThat(outOfOrder).isEmpty();
            publisher.close();
        }
    }

    /**
     * An image older than the one the listeners have is never handed to them, even if the applying thread broke its
     * contract and published one (a replica manager would act on stale roles).
     */
    @Test
    void anImageOlderThanThePublishedOneIsNeverHandedToListeners() {
        MetadataPublisher publisher = new MetadataPublisher(1);
        List<Long> seen = new CopyOnWriteArrayList<>();
        publisher.addListener((previous, next) -> seen.add(next.offset()));
        publisher.publish(at(5));
        await().atMost(Duration.ofSeconds(10)).until(() -> publisher.publishedOffset() == 5);
        publisher.publish(at(3));
        // Adding a listener runs on the publisher thread after the drain publish(3) queued: that drain has run.
        List<Long> late = new CopyOnWriteArrayList<>();
        publisher.addListener((previous, next) -> late.add(next.offset()));
        assertThat(seen).containsExactly(-1L, 5L);
        assertThat(late).containsExactly(5L);
        assertThat(publisher.publishedOffset()).isEqualTo(5);
        publisher.close();
    }

    @Test
    void nothingIsPublishedBeforeTheNodeHasCaughtUp() {
        AtomicBoolean caughtUp = new AtomicBoolean();
        MetadataPublisher publisher = new MetadataPublisher(1, caughtUp::get);
        List<Long> seen = new CopyOnWriteArrayList<>();
        publisher.addListener((previous, next) -> seen.add(next.offset()));
        publisher.publish(at(5));
        publisher.publish(at(6));
        // Only the empty image the listener got when added, while the node replays.
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> seen.equals(List.of(-1L)));
        caughtUp.set(true);
        await().atMost(Duration.ofSeconds(10)).until(() -> seen.equals(List.of(-1L, 6L)));
        publisher.close();
    }

    @Test
    void aBlockedListenerDoesNotHoldUpRatisCommits() throws Exception {
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        QuorumConfig config = new QuorumConfig(Map.of(1, InetSocketAddress.createUnresolved("127.0.0.1", port)),
                dir.resolve("node-1"), 300, 600, 3_000, 10_000, 8192);
        RatisMetadataStore store = RatisMetadataStore.start(1, config);
        CountDownLatch release = new CountDownLatch(1);
        try {
            store.addListener((previous, next) -> {
                if (next.offset() < 0) {
                    return; // the empty image a listener gets when added
                }
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            await().atMost(Duration.ofSeconds(30)).until(store::isLeaderReady);
            for (int i = 0; i < 5; i++) {
                // Each commit completes after the entry is applied, which no longer waits for the listener.
                store.commit(ControllerDecisions.registerBroker(i, UUID.randomUUID().toString(), List.of(), null)
                        .records()).get(20, TimeUnit.SECONDS);
            }
            assertThat(store.image().brokers()).hasSize(5);
            assertThat(release.getCount()).isEqualTo(1);
        } finally {
            release.countDown();
            store.close();
        }
    }
}
