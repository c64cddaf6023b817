package io.tributary.metadata;

import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.proto.metadata.AllocateProducerIdsRequest;
import io.tributary.proto.metadata.ControllerErrorCode;
import io.tributary.proto.metadata.ControllerRequest;
import io.tributary.proto.metadata.ControllerResponse;
import io.tributary.proto.metadata.CreateTopicRequest;
import io.tributary.proto.metadata.MetadataRecord;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The controller decides queued requests against a working image and commits them as one batch (group commit),
 * never waits on its thread for a commit, answers retries of one request id once, and stops when its batch is
 * fenced by a newer term. Driven through a store whose commits the test releases by hand.
 */
class ControllerBatchingTest {

    @TempDir
    Path dir;
    private LocalMetadataStore local;
    private HeldStore store;
    private Controller controller;

    @BeforeEach
    void open() throws IOException {
        local = LocalMetadataStore.open(dir);
        store = new HeldStore(local);
        AtomicLong ids = new AtomicLong();
        controller = new Controller(1, store, () -> new UUID(1, ids.incrementAndGet()));
        store.hold = false;
        controller.registerAndUnfence(1, "inc", List.of(
                new BrokerRegistration.BrokerEndpoint("PLAINTEXT", "127.0.0.1", 9092)), null).join();
        store.commits.clear();
        store.hold = true;
    }

    @AfterEach
    void close() throws IOException {
        controller.close();
        local.close();
    }

    private static ControllerRequest createTopic(String name, String requestId) {
        return ControllerRequest.newBuilder().setRequestId(requestId).setCreateTopic(CreateTopicRequest.newBuilder()
                .setName(name).setPartitions(1).setReplicationFactor(1)).build();
    }

    @Test
    void aBurstOfRequestsIsCommittedInTwoBatchesAndEveryTopicIsCreatedOnce() {
        List<CompletableFuture<ControllerResponse>> answers = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            answers.add(controller.handle(createTopic("t" + i, "")));
        }
        // The first request's batch is committing; the other 99 queue behind it, decided meanwhile by nobody.
        store.awaitHeld(1);
        assertThat(answers).noneMatch(CompletableFuture::isDone);
        store.releaseAll();
        store.awaitHeld(1);
        store.releaseAll();

        for (CompletableFuture<ControllerResponse> answer : answers) {
            assertThat(answer.orTimeout(10, TimeUnit.SECONDS).join().getError()).isEqualTo(ControllerErrorCode.NONE);
        }
        assertThat(store.commits).hasSize(2);
        assertThat(store.commits.get(1)).hasSize(99);
        assertThat(local.image().topics()).hasSize(100);
    }

    @Test
    void requestsWaitingBehindAStalledCommitAreBoundedAndTheExcessIsRefused() {
        CompletableFuture<ControllerResponse> blocker = controller.handle(createTopic("first", ""));
        store.awaitHeld(1);
        List<CompletableFuture<ControllerResponse>> waiting = new ArrayList<>();
        for (int i = 0; i < Controller.MAX_QUEUED_REQUESTS + 50; i++) {
            waiting.add(controller.handle(createTopic("t" + i, "")));
        }
        // The commit never returns: the requests behind it stay counted, and past the bound each is refused at once.
        List<CompletableFuture<ControllerResponse>> refused = waiting.stream().filter(CompletableFuture::isDone)
                .toList();
        assertThat(refused).hasSize(50);
        assertThat(refused).allMatch(f -> f.join().getError() == ControllerErrorCode.NOT_CONTROLLER);
        assertThat(controller.queuedRequests()).isEqualTo(Controller.MAX_QUEUED_REQUESTS);

        // Once the commit returns, the next batch is decided and leaves the count.
        store.releaseAll();
        assertThat(blocker.orTimeout(10, TimeUnit.SECONDS).join().getError()).isEqualTo(ControllerErrorCode.NONE);
        store.awaitHeld(1);
        assertThat(controller.queuedRequests()).isLessThan(Controller.MAX_QUEUED_REQUESTS);
    }

    @Test
    void twoTopicsOfOneNameInOneBatchCreateOneAndRefuseTheOther() {
        CompletableFuture<ControllerResponse> blocker = controller.handle(createTopic("first", ""));
        store.awaitHeld(1);
        CompletableFuture<ControllerResponse> a = controller.handle(createTopic("same", ""));
        CompletableFuture<ControllerResponse> b = controller.handle(createTopic("same", ""));
        store.releaseAll();
        store.awaitHeld(1);
        store.releaseAll();
        assertThat(blocker.join().getError()).isEqualTo(ControllerErrorCode.NONE);
        assertThat(a.join().getError()).isEqualTo(ControllerErrorCode.NONE);
        assertThat(b.join().getError()).isEqualTo(ControllerErrorCode.TOPIC_ALREADY_EXISTS);
    }

    @Test
    void aRetryOfOneRequestIdIsAnsweredOnceWithTheFirstAnswer() {
        CompletableFuture<ControllerResponse> first = controller.handle(createTopic("t", "req-1"));
        store.awaitHeld(1);
        CompletableFuture<ControllerResponse> retryWhilePending = controller.handle(createTopic("t", "req-1"));
        store.releaseAll();
        ControllerResponse answer = first.orTimeout(10, TimeUnit.SECONDS).join();
        CompletableFuture<ControllerResponse> retryAfter = controller.handle(createTopic("t", "req-1"));

        assertThat(answer.getError()).isEqualTo(ControllerErrorCode.NONE);
        assertThat(retryWhilePending.join()).isEqualTo(answer);
        assertThat(retryAfter.join()).isEqualTo(answer);
        assertThat(store.commits).hasSize(1);
        // Another request for the same topic is a new request: it finds the topic.
        store.hold = false;
        assertThat(controller.handle(createTopic("t", "req-2")).join().getError())
                .isEqualTo(ControllerErrorCode.TOPIC_ALREADY_EXISTS);
    }

    @Test
    void aFencedBatchFailsItsCallersAndDeactivatesTheController() {
        store.fenceNext = true;
        store.hold = false;
        ControllerResponse answer = controller.handle(ControllerRequest.newBuilder().setAllocateProducerIds(
                AllocateProducerIdsRequest.newBuilder().setBrokerId(1).setSize(1000)).build())
                .orTimeout(10, TimeUnit.SECONDS).join();

        assertThat(answer.getError()).isEqualTo(ControllerErrorCode.NOT_CONTROLLER);
        assertThat(answer.hasProducerIds()).isFalse();
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
                .until(() -> !controller.isActive());
        assertThat(controller.handle(createTopic("t", "")).join().getError())
                .isEqualTo(ControllerErrorCode.NOT_CONTROLLER);
        assertThat(local.image().nextProducerId()).isZero();
    }

    @Test
    void aBatchOfAnEarlierTermFencedAfterTheControllerWasActivatedAgainLeavesItActive() {
        // Given a batch committing in the controller's term,
        CompletableFuture<ControllerResponse> before = controller.handle(createTopic("before", ""));
        store.awaitHeld(1);
        // when its voter leads again and the controller is activated in a later term before that batch is answered,
        // and the batch comes back fenced (it reached the log in the new term),
        controller.activate(7);
        store.fenceHeld();

        // then its callers learn it failed, but the controller of the new term stays active and commits.
        assertThat(before.orTimeout(10, TimeUnit.SECONDS).join().getError())
                .isEqualTo(ControllerErrorCode.NOT_CONTROLLER);
        store.hold = false;
        store.releaseAll();
        assertThat(controller.handle(createTopic("after", "")).orTimeout(10, TimeUnit.SECONDS).join().getError())
                .isEqualTo(ControllerErrorCode.NONE);
        assertThat(controller.isActive()).isTrue();
        assertThat(local.image().topics()).containsOnlyKeys("after");
    }

    /** A store that holds each commit until the test releases it, or refuses the next one as fenced. */
    private static final class HeldStore implements MetadataStore {
        private final LocalMetadataStore delegate;
        final List<List<MetadataRecord>> commits = new CopyOnWriteArrayList<>();
        private final List<Held> held = new CopyOnWriteArrayList<>();
        volatile boolean hold;
        volatile boolean fenceNext;

        HeldStore(LocalMetadataStore delegate) {
            this.delegate = delegate;
        }

        @Override
        public CompletableFuture<MetadataImage> commit(List<MetadataRecord> records) {
            if (fenceNext) {
                fenceNext = false;
                return CompletableFuture.failedFuture(new FencedBatchException("fenced by the test"));
            }
            commits.add(List.copyOf(records));
            if (!hold) {
                return delegate.commit(records);
            }
            CompletableFuture<MetadataImage> result = new CompletableFuture<>();
            held.add(new Held(records, result));
            return result;
        }

        void awaitHeld(int count) {
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
                    .until(() -> held.size() >= count);
        }

        void releaseAll() {
            List<Held> now = List.copyOf(held);
            held.removeAll(now);
            now.forEach(h -> delegate.commit(h.records()).whenComplete((image, error) -> {
                if (error != null) {
                    h.result().completeExceptionally(error);
                } else {
                    h.result().complete(image);
                }
            }));
        }

        /** Fails every held commit as fenced by a newer term, without applying it. */
        void fenceHeld() {
            List<Held> now = List.copyOf(held);
            held.removeAll(now);
            now.forEach(h -> h.result().completeExceptionally(new FencedBatchException("fenced by the test")));
        }

        /** A commit the test has not released: its records and the future its caller waits on. */
        private record Held(List<MetadataRecord> records, CompletableFuture<MetadataImage> result) {
        }

        @Override
        public MetadataImage image() {
            return delegate.image();
        }

        @Override
        public void addListener(MetadataListener listener) {
            delegate.addListener(listener);
        }

        @Override
        public void close() {
        }
    }
}
