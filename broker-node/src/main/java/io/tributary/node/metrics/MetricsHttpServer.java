package io.tributary.node.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.List;
import java.util.function.Supplier;

/**
 * The node's HTTP endpoint: {@code GET /metrics} (Prometheus text format) and {@code GET /health} (200 {@code ok}
 * while the node is registered, unfenced and listening, reaches the active controller, and, on a voter, its metadata
 * state machine runs and has skipped no entry; 503 with the problems otherwise). JDK's built-in HTTP server on one thread; nothing else is served.
 */
public final class MetricsHttpServer implements Closeable {

    private final HttpServer server;

    /**
     * @param problems what keeps the node from serving well, checked on each {@code GET /health}: none is 200
     *     {@code ok}, else 503 with one problem per line
     */
    public MetricsHttpServer(String host, int port, NodeMetrics metrics, Supplier<List<String>> problems)
            throws IOException {
        server = HttpServer.create(new InetSocketAddress(host, port), 16);
        server.createContext("/metrics", exchange -> respond(exchange, 200,
                "text/plain; version=0.0.4; charset=utf-8", metrics.scrape()));
        server.createContext("/health", exchange -> {
            List<String> found = problems.get();
            respond(exchange, found.isEmpty() ? 200 : 503, "text/plain; charset=utf-8",
                    found.isEmpty() ? "ok\n" : String.join("\n", found) + "\n");
        });
        server.setExecutor(Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "metrics-http");
            t.setDaemon(true);
            return t;
        }));
        server.start();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private static void respond(HttpExchange exchange, int status, String contentType, String body)
            throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        if (!"GET".equals(exchange.getRequestMethod())) {
            exchange.sendResponseHeaders(405, -1);
            exchange.close();
            return;
        }
        exchange.getResponseHeaders().set("Content-Type", contentType);
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
