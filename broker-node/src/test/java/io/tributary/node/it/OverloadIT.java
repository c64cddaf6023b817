package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;

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
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 12, the request path under overload: a node with one io thread and room for two queued requests. Every
 * acks=0 record a producer sent before {@code close()} is stored, with other clients keeping the node busy (requests
 * read before a client closes are still handled); and when the io queue is full, connections stay open and every
 * acks=1 produce succeeds without a single retry (backpressure: the node stops reading, it does not drop requests).
 * A connection idle for {@code connections.max.idle.ms} is closed; a busy one is not. {@code max.connections.per.ip}
 * refuses the excess from one address and the node keeps serving the others.
 */
class OverloadIT {

    private static final int REPETITIONS = 20;
    private static final int RECORDS = 1_000;

    @RegisterExtension
    final NodeProcesses nodes = new NodeProcesses();

    @TempDir
    Path dataDir;

    /**
     * One io thread with room for two requests. A produce runs on the network thread unless its append may fsync, so
     * {@code log.flush.interval.messages} is set (high enough never to be reached) to send produces through the io
     * queue these tests fill.
     */
    private NodeProcess start() {
        return nodes.start(1, dataDir, Map.of("num.io.threads", "1", "queued.max.requests", "2",
                "log.flush.interval.messages", "1000000000"));
    }

    private static long endOffset(String bootstrap, String topic) throws Exception {
        try (Admin admin = Clients.admin(bootstrap)) {
            return admin.listOffsets(Map.of(new TopicPartition(topic, 0), OffsetSpec.latest())).all()
                    .get(60, TimeUnit.SECONDS).get(new TopicPartition(topic, 0)).offset();
        }
    }

    @Test
    void everyAcksZeroRecordSentBeforeCloseIsStoredOnABusyNode() throws Exception {
        NodeProcess node = start();
        Clients.createTopic(node.bootstrap(), "busy", 1);
        AtomicBoolean loading = new AtomicBoolean(true);
        ExecutorService load = Executors.newFixedThreadPool(2);
        try {
            for (int i = 0; i < 2; i++) {
                load.submit(() -> {
                    try (KafkaProducer<String, String> producer = Clients.producer(node.bootstrap(), Map.of(
                            ProducerConfig.ACKS_CONFIG, "1", ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false,
                            ProducerConfig.LINGER_MS_CONFIG, 0))) {
                        while (loading.get()) {
                            producer.send(new ProducerRecord<>("busy", "k", "load")).get(60, TimeUnit.SECONDS);
                        }
                    }
                    return null;
                });
            }
            for (int round = 0; round < REPETITIONS; round++) {
                String topic = "acks0-" + round;
                Clients.createTopic(node.bootstrap(), topic, 1);
                try (KafkaProducer<String, String> producer = Clients.producer(node.bootstrap(), Map.of(
                        ProducerConfig.ACKS_CONFIG, "0", ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false,
                        ProducerConfig.BATCH_SIZE_CONFIG, 1_024))) {
                    for (int i = 0; i < RECORDS; i++) {
                        producer.send(new ProducerRecord<>(topic, "k", "v" + i));
                    }
                    producer.flush();
                }
                String t = topic;
                org.awaitility.Awaitility.await("all " + RECORDS + " acks=0 records of round " + round + " stored")
                        .atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500))
                        .until(() -> endOffset(node.bootstrap(), t) == RECORDS);
            }
        } finally {
            loading.set(false);
            load.shutdown();
            assertThat(load.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
        }
    }

    @Test
    void anIdleConnectionIsClosedAfterConnectionsMaxIdleMsAndABusyOneIsNot() throws Exception {
        NodeProcess node = nodes.start(1, dataDir, Map.of("connections.max.idle.ms", "4000"));
        try (java.net.Socket idle = new java.net.Socket("127.0.0.1", node.port());
                java.net.Socket busy = new java.net.Socket("127.0.0.1", node.port())) {
            idle.setSoTimeout(20_000);
            busy.setSoTimeout(20_000);
            long start = System.nanoTime();
            // ApiVersions v0 every 250 ms on the busy connection, for 8 s: twice the idle limit (a wide margin,
            // so that a stall of the loaded CI machine does not look like an idle client)
            byte[] clientId = "busy".getBytes(java.nio.charset.StandardCharsets.UTF_8);
            for (int i = 0; i < 32; i++) {
                java.nio.ByteBuffer request = java.nio.ByteBuffer.allocate(4 + 2 + 2 + 4 + 2 + clientId.length);
                request.putInt(request.capacity() - 4).putShort((short) 18).putShort((short) 0).putInt(i)
                        .putShort((short) clientId.length).put(clientId);
                busy.getOutputStream().write(request.array());
                java.io.DataInputStream in = new java.io.DataInputStream(busy.getInputStream());
                int size = in.readInt();
                in.readFully(new byte[size]);
                Thread.sleep(250); // the pacing of a client, not synchronisation
            }
            assertThat(idle.getInputStream().read()).as("the idle connection is closed").isEqualTo(-1);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(30));
        }
    }

    /** Connects from {@code source} and makes one ApiVersions round trip; false if the node closed the socket. */
    private static boolean served(java.net.Socket socket) {
        try {
            socket.setSoTimeout(20_000);
            byte[] clientId = "limits".getBytes(java.nio.charset.StandardCharsets.UTF_8);
            java.nio.ByteBuffer request = java.nio.ByteBuffer.allocate(4 + 2 + 2 + 4 + 2 + clientId.length);
            request.putInt(request.capacity() - 4).putShort((short) 18).putShort((short) 0).putInt(1)
                    .putShort((short) clientId.length).put(clientId);
            socket.getOutputStream().write(request.array());
            java.io.DataInputStream in = new java.io.DataInputStream(socket.getInputStream());
            in.readFully(new byte[in.readInt()]);
            return true;
        } catch (java.io.IOException closed) {
            return false;
        }
    }

    private static java.net.Socket connect(String source, int port) throws java.io.IOException {
        java.net.Socket socket = new java.net.Socket();
        socket.bind(new java.net.InetSocketAddress(source, 0));
        socket.connect(new java.net.InetSocketAddress("127.0.0.1", port), 10_000);
        return socket;
    }

    @Test
    void maxConnectionsPerIpRefusesTheExcessAndServesOthers() throws Exception {
        NodeProcess node = nodes.start(1, dataDir, Map.of("max.connections.per.ip", "3"));
        List<java.net.Socket> open = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                open.add(connect("127.0.0.1", node.port()));
                assertThat(served(open.get(i))).as("connection %d from 127.0.0.1", i + 1).isTrue();
            }
            try (java.net.Socket fourth = connect("127.0.0.1", node.port())) {
                assertThat(served(fourth)).as("a fourth connection from 127.0.0.1").isFalse();
            }
            try (java.net.Socket other = connect("127.0.0.2", node.port())) {
                assertThat(served(other)).as("a connection from another address").isTrue();
            }
            open.remove(0).close();
            // once one closes, there is room again (the count follows closes)
            org.awaitility.Awaitility.await("room for one more connection from 127.0.0.1")
                    .atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200)).until(() -> {
                        try (java.net.Socket again = connect("127.0.0.1", node.port())) {
                            return served(again);
                        }
                    });
        } finally {
            for (java.net.Socket socket : open) {
                socket.close();
            }
        }
    }

    @Test
    void aFullIoQueueKeepsConnectionsOpenAndEveryProduceSucceedsWithoutARetry() throws Exception {
        NodeProcess node = start();
        Clients.createTopic(node.bootstrap(), "crowded", 1);
        int producers = 8;
        ExecutorService pool = Executors.newFixedThreadPool(producers);
        List<Future<Integer>> results = new ArrayList<>();
        for (int p = 0; p < producers; p++) {
            results.add(pool.submit(() -> {
                int ok = 0;
                // retries=0: a dropped request or a closed connection would fail a send
                try (KafkaProducer<String, String> producer = Clients.producer(node.bootstrap(), Map.of(
                        ProducerConfig.ACKS_CONFIG, "1", ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false,
                        ProducerConfig.RETRIES_CONFIG, 0, ProducerConfig.LINGER_MS_CONFIG, 0,
                        ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 5))) {
                    List<Future<RecordMetadata>> sent = new ArrayList<>();
                    for (int i = 0; i < 300; i++) {
                        sent.add(producer.send(new ProducerRecord<>("crowded", "k", "v" + i)));
                    }
                    for (Future<RecordMetadata> f : sent) {
                        f.get(60, TimeUnit.SECONDS);
                        ok++;
                    }
                }
                return ok;
            }));
        }
        int total = 0;
        for (Future<Integer> r : results) {
            total += r.get(120, TimeUnit.SECONDS);
        }
        pool.shutdown();
        assertThat(total).isEqualTo(producers * 300);
        assertThat(endOffset(node.bootstrap(), "crowded")).isEqualTo(producers * 300L);
    }
}
