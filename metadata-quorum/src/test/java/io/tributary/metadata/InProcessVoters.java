package io.tributary.metadata;

import static org.awaitility.Awaitility.await;

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
import java.util.function.BiFunction;

/**
 * Real Ratis voters of one metadata quorum in this JVM, each on its own storage under a test directory and its own
 * port, kept across restarts. Starts and stops run in parallel: each takes about a second (closing waits for gRPC
 * channels to shut down gracefully).
 */
final class InProcessVoters implements AutoCloseable {

    private final Path dir;
    private final BiFunction<Map<Integer, InetSocketAddress>, Path, QuorumConfig> config;
    private final Map<Integer, InetSocketAddress> addresses = new HashMap<>();
    private final Map<Integer, RatisMetadataStore> running = new ConcurrentHashMap<>();

    /** @param config the quorum config of one voter, given every voter's address and that voter's storage dir */
    InProcessVoters(Path dir, int voters, BiFunction<Map<Integer, InetSocketAddress>, Path, QuorumConfig> config)
            throws IOException {
        this.dir = dir;
        this.config = config;
        for (int id = 1; id <= voters; id++) {
            addresses.put(id, InetSocketAddress.createUnresolved("127.0.0.1", freePort()));
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    void start(List<Integer> ids) {
        CompletableFuture.allOf(ids.stream().map(id -> CompletableFuture.runAsync(() -> {
            try {
                running.put(id, RatisMetadataStore.start(id, config.apply(addresses, dir.resolve("node-" + id))));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        })).toArray(CompletableFuture[]::new)).join();
    }

    void stop(List<Integer> ids) {
        closeInParallel(ids.stream().map(running::remove).toList());
    }

    Map<Integer, RatisMetadataStore> running() {
        return running;
    }

    int idOf(RatisMetadataStore store) {
        return running.entrySet().stream().filter(e -> e.getValue() == store).findFirst().orElseThrow().getKey();
    }

    /** The running voter that is the ready leader, once there is one within {@code deadline}. */
    RatisMetadataStore awaitLeader(Duration deadline) {
        return await().atMost(deadline).pollInterval(Duration.ofMillis(20)).until(
                () -> running.values().stream().filter(RatisMetadataStore::isLeaderReady).findFirst().orElse(null),
                leader -> leader != null);
    }

    private static void closeInParallel(List<RatisMetadataStore> stores) {
        CompletableFuture.allOf(stores.stream().map(store -> CompletableFuture.runAsync(() -> {
            try {
                store.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        })).toArray(CompletableFuture[]::new)).join();
    }

    @Override
    public void close() {
        closeInParallel(List.copyOf(running.values()));
        running.clear();
    }
}
