package io.tributary.metadata;

import java.io.Closeable;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The active controller: the single writer of metadata. Every request is decided by {@link ControllerDecisions}
 * against the latest image and its records committed through the {@link MetadataStore}, one request at a time on
 * the controller thread, so that each decision sees the effect of the one before.
 *
 * <p>Threads: public methods may be called from any thread and return futures completed on the controller thread.
 * Lifecycle: created on a node that acts as controller, closed when it stops.
 */
public final class Controller implements Closeable {

    private final MetadataStore store;
    private final Supplier<UUID> topicIds;
    private final ExecutorService thread = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "controller");
        t.setDaemon(true);
        return t;
    });

    public Controller(MetadataStore store, Supplier<UUID> topicIds) {
        this.store = store;
        this.topicIds = topicIds;
    }

    public CompletableFuture<ControllerResult<TopicImage>> createTopic(String name, int partitions,
            int replicationFactor, Map<String, String> configs, boolean validateOnly) {
        return run(image -> ControllerDecisions.createTopic(image, name, partitions, replicationFactor, configs,
                topicIds.get()), validateOnly);
    }

    public CompletableFuture<ControllerResult<TopicImage>> deleteTopic(String name) {
        return run(image -> ControllerDecisions.deleteTopic(image, name), false);
    }

    public CompletableFuture<ControllerResult<Long>> allocateProducerIds(int brokerId, int blockSize) {
        return run(image -> ControllerDecisions.allocateProducerIds(image, brokerId, blockSize), false);
    }

    /** Registers the broker and, as a single node has no heartbeats to wait for, unfences it at once. */
    public CompletableFuture<ControllerResult<Void>> registerAndUnfence(int brokerId, String incarnationId,
            List<BrokerRegistration.BrokerEndpoint> endpoints, String rack) {
        return run(image -> ControllerDecisions.registerBroker(brokerId, incarnationId, endpoints, rack), false)
                .thenCompose(registered -> registered.failed()
                        ? CompletableFuture.completedFuture(registered)
                        : run(image -> ControllerDecisions.unfenceBroker(image, brokerId), false));
    }

    private <T> CompletableFuture<ControllerResult<T>> run(Function<MetadataImage, ControllerResult<T>> decide,
            boolean validateOnly) {
        return CompletableFuture.supplyAsync(() -> {
            ControllerResult<T> result = decide.apply(store.image());
            if (!result.failed() && !validateOnly) {
                store.commit(result.records()).join();
            }
            return result;
        }, thread);
    }

    @Override
    public void close() {
        thread.shutdown();
        try {
            thread.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
