package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.message.ApiVersionsRequestData;
import org.apache.kafka.common.message.FetchRequestData;
import org.apache.kafka.common.message.RequestHeaderData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.requests.RequestUtils;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12, "Done when": six parallel 100 MB request frames, and a pipelined slowloris attack (hundreds of
 * connections that pipeline requests and never read the answers, trickle huge frames a byte at a time, or stop
 * inside a size prefix), leave a node with a 256 MiB heap alive, its heap below the limit, and serving a normal
 * producer and consumer throughout; a long poll whose client closed stops waiting. The node's request memory ({@code queued.max.request.bytes}, a quarter of the
 * heap by default) is what holds: frames wait for it with their sockets paused, and small requests keep a reserve.
 */
class MemoryBoundsIT {

    /** NodeProcess's -Xmx. */
    private static final long HEAP_LIMIT = 256L * 1024 * 1024;
    /** socket.request.max.bytes' default: the largest frame a client may send. */
    private static final int MAX_FRAME = 104_857_600;

    @RegisterExtension
    final NodeProcesses nodes = new NodeProcesses();

    @TempDir
    Path dataDir;

    /** Sockets of the attacks, closed after each test; added to from the parallel senders. */
    private final List<Socket> attackers = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private int metricsPort;

    @AfterEach
    void closeAttackers() throws Exception {
        threads.shutdownNow();
        for (Socket s : attackers) {
            s.close();
        }
        assertThat(threads.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
    }

    private NodeProcess start() {
        metricsPort = NodeProcess.freePort();
        NodeProcess node = nodes.start(1, dataDir, Map.of("metrics.listener", "127.0.0.1:" + metricsPort));
        Clients.createTopic(node.bootstrap(), "normal", 1);
        return node;
    }

    @Test
    void sixParallelHundredMegabyteFramesLeaveTheNodeServing() throws Exception {
        NodeProcess node = start();
        try (Watch watch = new Watch()) {
            List<Future<?>> senders = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                senders.add(threads.submit(() -> {
                    sendHugeFrame(node.port());
                    return null;
                }));
            }
            // served while the frames arrive
            produceAndConsume(node, 0);
            for (Future<?> sender : senders) {
                sender.get(120, TimeUnit.SECONDS);
            }
            produceAndConsume(node, 1);
            watch.assertWithinBounds(node);
        }
    }

    @Test
    void aPipelinedSlowlorisLeavesTheNodeServing() throws Exception {
        NodeProcess node = start();
        try (Watch watch = new Watch()) {
            byte[] apiVersions = frame(ApiKeys.API_VERSIONS, new ApiVersionsRequestData()
                    .setClientSoftwareName("slowloris").setClientSoftwareVersion("1"));
            List<Socket> tricklers = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                // pipelines 50 requests and never reads an answer
                OutputStream pipelined = connect(node.port()).getOutputStream();
                for (int r = 0; r < 50; r++) {
                    pipelined.write(apiVersions);
                }
                pipelined.flush();
                // announces a frame of the largest size, then trickles it
                Socket trickler = connect(node.port());
                new DataOutputStream(trickler.getOutputStream()).writeInt(MAX_FRAME);
                tricklers.add(trickler);
                // stops inside the size prefix
                connect(node.port()).getOutputStream().write(new byte[] {0, 0});
            }
            AtomicBoolean trickling = new AtomicBoolean(true);
            Future<?> trickle = threads.submit(() -> {
                while (trickling.get()) {
                    for (Socket s : tricklers) {
                        s.getOutputStream().write(7);
                    }
                    TimeUnit.MILLISECONDS.sleep(100); // the attack's pace, not synchronisation
                }
                return null;
            });
            produceAndConsume(node, 0);
            produceAndConsume(node, 1);
            trickling.set(false);
            trickle.get(30, TimeUnit.SECONDS);
            watch.assertWithinBounds(node);
            PrometheusScrape scrape = PrometheusScrape.of(metricsPort);
            assertThat(scrape.sum("tributary_request_memory_waiting_connections"))
                    .as("trickled frames wait for request memory with their sockets paused").isPositive();
            assertThat(scrape.sum("tributary_connections")).as("every attacking connection still open")
                    .isGreaterThanOrEqualTo(600);
        }
    }

    @Test
    void aLongPollStopsWaitingWhenItsClientGoesAway() throws Exception {
        NodeProcess node = start();
        // a fetch that would wait 24 days for 1 GB on an empty topic, sent on a raw connection
        short version = 12; // names topics by name
        byte[] fetch = frame(ApiKeys.FETCH, version, new FetchRequestData().setReplicaId(-1)
                .setMaxWaitMs(Integer.MAX_VALUE).setMinBytes(1 << 30).setMaxBytes(1 << 20)
                .setTopics(List.of(new FetchRequestData.FetchTopic().setTopic("normal")
                        .setPartitions(List.of(new FetchRequestData.FetchPartition().setPartition(0)
                                .setCurrentLeaderEpoch(-1).setFetchOffset(0).setLogStartOffset(-1)
                                .setPartitionMaxBytes(1 << 20))))));
        Socket client = connect(node.port());
        client.getOutputStream().write(fetch);
        client.getOutputStream().flush();
        await("the long poll waits").atMost(Duration.ofSeconds(30))
                .until(() -> PrometheusScrape.of(metricsPort).sum("tributary_fetch_waiters") == 1);

        client.close();
        await("the long poll of a closed connection stops waiting").atMost(Duration.ofSeconds(30))
                .until(() -> PrometheusScrape.of(metricsPort).sum("tributary_fetch_waiters") == 0);
    }

    private Socket connect(int port) throws IOException {
        Socket socket = new Socket();
        attackers.add(socket);
        socket.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
        return socket;
    }

    /** Sends one frame of the largest allowed size (an unknown API: the node reads it whole, then closes). */
    private void sendHugeFrame(int port) throws IOException {
        Socket socket = connect(port);
        socket.setSoTimeout(120_000);
        DataOutputStream out = new DataOutputStream(socket.getOutputStream());
        out.writeInt(MAX_FRAME);
        out.writeShort(9_999); // api key
        out.writeShort(0);
        byte[] chunk = new byte[1 << 20];
        for (int sent = 4; sent < MAX_FRAME; sent += chunk.length) {
            out.write(chunk, 0, Math.min(chunk.length, MAX_FRAME - sent));
        }
        out.flush();
        InputStream in = socket.getInputStream();
        try {
            assertThat(in.read()).as("closed after the whole frame was read").isEqualTo(-1);
        } catch (SocketTimeoutException e) {
            throw new AssertionError("the node never handled the 100 MB frame", e);
        }
    }

    /** A normal client: 100 acks=all records in, and read back, within the clients' deadlines. */
    private static void produceAndConsume(NodeProcess node, int round) throws Exception {
        try (KafkaProducer<String, String> producer = Clients.producer(node.bootstrap(), Map.of(
                ProducerConfig.ACKS_CONFIG, "all"))) {
            for (int i = 0; i < 100; i++) {
                producer.send(new ProducerRecord<>("normal", "k", round + "-" + i)).get(60, TimeUnit.SECONDS);
            }
        }
        assertThat(Clients.readFromBeginning(node.bootstrap(), "normal", 1, 100 * (round + 1)))
                .hasSize(100 * (round + 1));
    }

    private static byte[] frame(ApiKeys api, org.apache.kafka.common.protocol.ApiMessage body) {
        return frame(api, api.latestVersion(), body);
    }

    private static byte[] frame(ApiKeys api, short version, org.apache.kafka.common.protocol.ApiMessage body) {
        ByteBuffer bytes = RequestUtils.serialize(new RequestHeaderData().setRequestApiKey(api.id)
                .setRequestApiVersion(version).setCorrelationId(1).setClientId("slowloris"),
                api.requestHeaderVersion(version), body, version);
        ByteBuffer framed = ByteBuffer.allocate(4 + bytes.remaining()).putInt(bytes.remaining()).put(bytes);
        return framed.array();
    }

    /** Scrapes the node's heap and request memory every 200 ms while a test runs; keeps the highest values. */
    private final class Watch implements AutoCloseable {
        private final AtomicBoolean running = new AtomicBoolean(true);
        private volatile double maxHeap;
        private volatile double maxRequestMemory;
        private volatile double limit;
        private final Future<?> scraper;

        Watch() {
            scraper = threads.submit(() -> {
                while (running.get()) {
                    PrometheusScrape scrape = PrometheusScrape.of(metricsPort);
                    maxHeap = Math.max(maxHeap, scrape.sum("jvm_memory_used_bytes", "area=\"heap\""));
                    maxRequestMemory = Math.max(maxRequestMemory, scrape.sum("tributary_request_memory_used_bytes"));
                    limit = scrape.sum("tributary_request_memory_limit_bytes");
                    TimeUnit.MILLISECONDS.sleep(200); // the sampling period
                }
                return null;
            });
        }

        void assertWithinBounds(NodeProcess node) throws IOException {
            assertThat(node.isAlive()).as("node alive").isTrue();
            assertThat(Files.readString(node.logFile())).doesNotContain("OutOfMemoryError");
            assertThat(maxHeap).as("heap used").isPositive().isLessThan(HEAP_LIMIT);
            assertThat(limit).as("queued.max.request.bytes defaults to a quarter of the heap")
                    .isBetween(HEAP_LIMIT / 5.0, HEAP_LIMIT / 4.0);
            // one frame larger than the pool is admitted alone, next to the small-request reserve
            assertThat(maxRequestMemory).as("request memory held").isLessThanOrEqualTo(limit + MAX_FRAME);
        }

        @Override
        public void close() throws Exception {
            running.set(false);
            scraper.get(30, TimeUnit.SECONDS);
        }
    }
}
