package io.tributary.node.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The metrics endpoint queues a bounded number of requests: with its handler thread stuck and its queue full, the
 * server's accepting thread handles the next request itself (and so stops reading more) instead of queueing without
 * end.
 */
class MetricsHttpServerTest {

    @Test
    void requestsBeyondTheQueueAreNotQueuedButRunByTheAcceptingThread() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        Set<String> handlerThreads = ConcurrentHashMap.newKeySet();
        MetricsHttpServer server = new MetricsHttpServer("127.0.0.1", 0, null, () -> {
            handlerThreads.add(Thread.currentThread().getName());
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return List.of();
        });
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        try {
            List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
            for (int i = 0; i < MetricsHttpServer.MAX_QUEUED_EXCHANGES + 4; i++) {
                answers.add(client.sendAsync(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + server.port() + "/health")).build(),
                        HttpResponse.BodyHandlers.ofString()));
            }
            // One on the handler thread, 16 queued, the next on the server's own thread: two threads are inside.
            await().atMost(Duration.ofSeconds(20)).until(() -> handlerThreads.size() >= 2);
            assertThat(handlerThreads).contains("metrics-http");
            release.countDown();
            for (CompletableFuture<HttpResponse<String>> answer : answers) {
                HttpResponse<String> response = answer.get(20, TimeUnit.SECONDS);
                assertThat(response.statusCode()).isEqualTo(200);
                assertThat(response.body()).isEqualTo("ok\n");
            }
        } finally {
            release.countDown();
            server.close();
        }
    }
}
