package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile bytes on the Kafka port must cost the sender its connection, never the node: DESIGN.md, "Malformed,
 * oversized or unknown requests get Kafka's error code or a closed connection, never a crashed node".
 */
class MalformedFramesIT {
    private static final Duration CLOSE_DEADLINE = Duration.ofSeconds(10);
    private static final Duration RESPONSE_DEADLINE = Duration.ofSeconds(10);
    private static final int SOCKET_REQUEST_MAX_BYTES = 104_857_600; // the node's default socket.request.max.bytes
    private static final short UNSUPPORTED_VERSION = 35; // Kafka's Errors.UNSUPPORTED_VERSION
    private static final int API_VERSIONS = 18;
    private static final int METADATA = 3;
    private static final int ATTACK_THREADS = 4;
    private static final int ATTACK_ROUNDS = 50;
    private static final int STEADY_MIN_RECORDS = 50;
    private static final int STEADY_MAX_RECORDS = 5_000;
    private static final Duration STEADY_DEADLINE = Duration.ofSeconds(180);
    private static final List<Integer> REJECTED_SIZES = List.of(
            Integer.MAX_VALUE, 200 * 1024 * 1024, SOCKET_REQUEST_MAX_BYTES + 1, -1, -100, Integer.MIN_VALUE);

    @RegisterExtension
    final NodeProcesses nodes = new NodeProcesses();

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path dataDir;

    @Test
    void closesTheConnectionOnASizePrefixOverTheLimitOrNegative() throws IOException {
        // Given
        NodeProcess node = nodes.start(dataDir);

        for (int size : REJECTED_SIZES) {
            try (RawConnection connection = new RawConnection(node.port())) {
                // When
                connection.writeIgnoringClose(RawConnection.sizePrefixed(size, new byte[16]));

                // Then
                assertThat(connection.closedByBrokerWithin(CLOSE_DEADLINE))
                        .as("connection closed after a size prefix of %d", size)
                        .isTrue();
            }
        }
        assertThat(node.isAlive()).isTrue();
    }

    @Test
    void answersApiVersionsOfAnUnsupportedVersionWithUnsupportedVersionError() throws IOException {
        // Given
        NodeProcess node = nodes.start(dataDir);

        try (RawConnection connection = new RawConnection(node.port())) {
            // When / Then
            assertUnsupportedApiVersionsAnswer(connection, 4242);
        }
    }

    @Test
    void survivesMalformedFramesOnManyConnectionsWhileServingWellBehavedClients() throws Exception {
        // Given a node serving a well-behaved producer and consumer
        NodeProcess node = nodes.start(dataDir);
        String topic = "steady";
        Clients.createTopic(node.bootstrap(), topic, 1);
        AtomicBoolean attacksDone = new AtomicBoolean();
        AtomicInteger steadyRecords = new AtomicInteger();
        ExecutorService steady = Executors.newSingleThreadExecutor(r -> new Thread(r, "steady-client"));
        ExecutorService attackers = Executors.newFixedThreadPool(ATTACK_THREADS, r -> new Thread(r, "attacker"));
        try {
            Future<List<String>> steadyResult =
                    steady.submit(() -> produceAndConsumeUntil(node, topic, attacksDone, steadyRecords));
            await("well-behaved client under way").atMost(Clients.CLIENT_DEADLINE)
                    .until(() -> steadyRecords.get() > 0 || steadyResult.isDone());

            // When several connections at once throw every kind of malformed frame at it
            List<Future<?>> attacks = new ArrayList<>();
            for (int thread = 0; thread < ATTACK_THREADS; thread++) {
                int seed = thread;
                attacks.add(attackers.submit(() -> {
                    attack(node, seed);
                    return null;
                }));
            }
            for (Future<?> attack : attacks) {
                attack.get(5, TimeUnit.MINUTES); // rethrows an attacker's failed assertion
            }
            attacksDone.set(true);

            // Then the well-behaved client never noticed, the node is alive and answers a fresh client
            List<String> consumed = steadyResult.get(STEADY_DEADLINE.toSeconds() + 60, TimeUnit.SECONDS);
            System.out.printf("MalformedFramesIT: %d produce/consume round trips during %d attacks%n",
                    consumed.size(), ATTACK_THREADS * ATTACK_ROUNDS * Attack.values().length);
            assertThat(consumed).hasSizeGreaterThanOrEqualTo(STEADY_MIN_RECORDS);
            assertThat(node.isAlive()).as("node process alive").isTrue();
            try (Admin admin = Clients.admin(node.bootstrap())) {
                assertThat(admin.describeCluster().nodes().get(30, TimeUnit.SECONDS))
                        .extracting(Node::id)
                        .containsExactly(node.nodeId());
            }
            assertThat(Files.readString(node.logFile())).doesNotContain("OutOfMemoryError");
        } finally {
            attacksDone.set(true);
            attackers.shutdownNow();
            steady.shutdownNow();
            assertThat(attackers.awaitTermination(60, TimeUnit.SECONDS)).as("attackers stopped").isTrue();
            assertThat(steady.awaitTermination(60, TimeUnit.SECONDS)).as("steady client stopped").isTrue();
        }
    }

    /**
     * Produces one record at a time (acks=all) and consumes it back before the next, until the attacks are over
     * and at least {@link #STEADY_MIN_RECORDS} made the round trip, or the count or time bound is reached.
     * Returns the values consumed, which must be exactly those produced, in order, at offsets 0, 1, 2, ...
     */
    private static List<String> produceAndConsumeUntil(
            NodeProcess node, String topic, AtomicBoolean attacksDone, AtomicInteger roundTrips) throws Exception {
        TopicPartition partition = new TopicPartition(topic, 0);
        long deadlineNs = System.nanoTime() + STEADY_DEADLINE.toNanos();
        List<String> consumed = new ArrayList<>();
        try (KafkaProducer<String, String> producer = Clients.producer(node.bootstrap(), Map.of());
                KafkaConsumer<String, String> consumer = Clients.consumer(node.bootstrap())) {
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            for (int i = 0; i < STEADY_MAX_RECORDS && System.nanoTime() < deadlineNs; i++) {
                if (attacksDone.get() && i >= STEADY_MIN_RECORDS) {
                    break;
                }
                String value = "steady-" + i;
                RecordMetadata metadata =
                        producer.send(new ProducerRecord<>(topic, 0, "k" + i, value)).get(30, TimeUnit.SECONDS);
                assertThat(metadata.offset()).as("offset of steady record %d", i).isEqualTo(i);
                int expected = i + 1;
                await("steady record " + i + " consumed").atMost(Duration.ofSeconds(30))
                        .pollInSameThread() // KafkaConsumer belongs to one thread
                        .pollInterval(Duration.ZERO)
                        .until(() -> {
                            for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(100))) {
                                consumed.add(record.value());
                            }
                            return consumed.size() >= expected;
                        });
                assertThat(consumed).hasSize(expected).last().isEqualTo(value);
                roundTrips.incrementAndGet();
            }
        }
        return consumed;
    }

    /** One attacker: {@link #ATTACK_ROUNDS} rounds of every malformed frame, each on a new connection. */
    private static void attack(NodeProcess node, int seed) throws IOException {
        List<Attack> kinds = new ArrayList<>(List.of(Attack.values()));
        for (int round = 0; round < ATTACK_ROUNDS; round++) {
            Collections.shuffle(kinds, new java.util.Random(seed * 1_000L + round));
            for (Attack kind : kinds) {
                try (RawConnection connection = new RawConnection(node.port())) {
                    kind.run(connection, seed * 100_000 + round);
                } catch (AssertionError | IOException e) {
                    throw new AssertionError(kind + " (attacker " + seed + ", round " + round + "): " + e, e);
                }
            }
        }
    }

    /** The malformed inputs. Those whose outcome Kafka defines assert it; the rest only must not hurt the node. */
    private enum Attack {
        /**
         * The first four random bytes are the size prefix: sometimes under the limit, so the listener must not
         * allocate the claimed size up front (Apache Kafka with a 256 MB heap and the default unbounded
         * queued.max.request.bytes does, and its network threads then die of OutOfMemoryError in this test).
         */
        RANDOM_BYTES {
            @Override
            void run(RawConnection connection, int correlationId) {
                byte[] junk = new byte[ThreadLocalRandom.current().nextInt(1, 4_096)];
                ThreadLocalRandom.current().nextBytes(junk);
                connection.writeIgnoringClose(junk);
            }
        },
        SIZE_OVER_LIMIT {
            @Override
            void run(RawConnection connection, int correlationId) throws IOException {
                int size = ThreadLocalRandom.current().nextBoolean() ? Integer.MAX_VALUE : 200 * 1024 * 1024;
                connection.writeIgnoringClose(RawConnection.sizePrefixed(size, new byte[32]));
                assertThat(connection.closedByBrokerWithin(CLOSE_DEADLINE))
                        .as("closed after size prefix %d", size).isTrue();
            }
        },
        NEGATIVE_SIZE {
            @Override
            void run(RawConnection connection, int correlationId) throws IOException {
                int size = -1 - ThreadLocalRandom.current().nextInt(Integer.MAX_VALUE);
                connection.writeIgnoringClose(RawConnection.sizePrefixed(size, new byte[32]));
                assertThat(connection.closedByBrokerWithin(CLOSE_DEADLINE))
                        .as("closed after size prefix %d", size).isTrue();
            }
        },
        TRUNCATED_FRAME {
            @Override
            void run(RawConnection connection, int correlationId) {
                connection.writeIgnoringClose(RawConnection.sizePrefixed(100, new byte[10])); // then hang up
            }
        },
        UNKNOWN_API_KEY {
            @Override
            void run(RawConnection connection, int correlationId) {
                byte[] body = new byte[24];
                ThreadLocalRandom.current().nextBytes(body);
                connection.writeIgnoringClose(RawConnection.request(9999, 0, correlationId, false, body));
            }
        },
        API_VERSIONS_WITH_GARBAGE_BODY {
            @Override
            void run(RawConnection connection, int correlationId) {
                byte[] body = new byte[ThreadLocalRandom.current().nextInt(1, 64)];
                ThreadLocalRandom.current().nextBytes(body);
                connection.writeIgnoringClose(RawConnection.request(API_VERSIONS, 3, correlationId, true, body));
            }
        },
        METADATA_OF_UNSUPPORTED_VERSION {
            @Override
            void run(RawConnection connection, int correlationId) {
                byte[] body = {(byte) 1, (byte) 0, (byte) 0}; // empty compact topic array, flags, no tagged fields
                connection.writeIgnoringClose(RawConnection.request(METADATA, 99, correlationId, true, body));
            }
        },
        API_VERSIONS_OF_UNSUPPORTED_VERSION {
            @Override
            void run(RawConnection connection, int correlationId) throws IOException {
                assertUnsupportedApiVersionsAnswer(connection, correlationId);
            }
        };

        abstract void run(RawConnection connection, int correlationId) throws IOException;
    }

    /**
     * Sends ApiVersions v99 and expects Kafka's answer: a version-0 response (header v0, then error code int16)
     * with UNSUPPORTED_VERSION, so that the client can retry with a version the broker lists (KIP-511).
     */
    private static void assertUnsupportedApiVersionsAnswer(RawConnection connection, int correlationId)
            throws IOException {
        // ApiVersions v3 and later use request header v2; v99 is parsed as one of them.
        connection.write(RawConnection.request(API_VERSIONS, 99, correlationId, true, RawConnection.apiVersionsV3Body()));
        ByteBuffer response = connection.readFrame(RESPONSE_DEADLINE);
        assertThat(RawConnection.readInt(response)).as("correlation id").isEqualTo(correlationId);
        assertThat(RawConnection.readShort(response)).as("error code").isEqualTo(UNSUPPORTED_VERSION);
    }
}
