package io.tributary.node.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The node's HTTP endpoint: {@code GET /metrics} (Prometheus text format) and {@code GET /health} (200 {@code ok}
 * while the node is registered, unfenced and listening, reaches the active controller, and, on a voter, its metadata
 * state machine runs and has skipped no entry; 503 with the problems otherwise). JDK's built-in HTTP server, one
 * handler thread with a bounded queue; nothing else is served.
 */
public final class MetricsHttpServer implements Closeable {

    /** Requests waiting for the handler thread, at most. */
    static final int MAX_QUEUED_EXCHANGES = 16;

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
        // One handler at a time with at most MAX_QUEUED_EXCHANGES waiting; beyond that the server's accepting
        // thread runs the handler itself, so it reads no more requests meanwhile: scrapes can pile up nowhere.
        server.setExecutor(new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
                new ArrayBlockingQueue<>(MAX_QUEUED_EXCHANGES), r -> {
                    Thread t = new Thread(r, "metrics-http");
                    t.setDaemon(true);
                    return t;
                }, new ThreadPoolExecutor.CallerRunsPolicy()));
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
