package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.SslConfigs;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 11, TLS for clients: a node with a PLAINTEXT and an SSL listener (Kafka's {@code listeners},
 * {@code listener.security.protocol.map} and {@code ssl.*} keys). Kafka's Java clients and kcat produce and consume
 * over TLS, each listener's clients are told the brokers' endpoints on that same listener, and a client that speaks
 * plaintext to the TLS port is dropped without harming anyone else.
 */
class ClientTlsIT {

    private static Path work;
    private static Path certs;
    private static String password;
    private static NodeProcess node;
    private static int sslPort;

    @BeforeAll
    static void start() throws Exception {
        work = Files.createTempDirectory("tributary-client-tls-");
        certs = work.resolve("certs");
        Path script = Path.of("").toAbsolutePath().getParent().resolve("deploy").resolve("make-certs.sh");
        ExternalCommand.Result made = ExternalCommand.run(List.of("bash", script.toString(), certs.toString(),
                "127.0.0.1"), "", Duration.ofMinutes(3), work);
        assertThat(made.exitCode()).as(made.toString()).isZero();
        password = Files.readString(certs.resolve("password"), StandardCharsets.UTF_8).trim();
        List<Integer> ports = NodeProcess.freePorts(2);
        sslPort = ports.get(1);
        Path dir = Files.createDirectories(work.resolve("node"));
        node = NodeProcess.prepare(1, dir, ports.get(0), Map.of(
                "listeners", "PLAINTEXT://127.0.0.1:" + ports.get(0) + ",SSL://127.0.0.1:" + sslPort,
                "advertised.listeners", "PLAINTEXT://127.0.0.1:" + ports.get(0) + ",SSL://127.0.0.1:" + sslPort,
                "ssl.keystore.location", certs.resolve("node-1.p12").toString(),
                "ssl.keystore.type", "PKCS12",
                "ssl.keystore.password", password));
        node.restart();
    }

    @AfterAll
    static void stop() {
        if (node != null) {
            node.close();
        }
    }

    private static String sslBootstrap() {
        return "127.0.0.1:" + sslPort;
    }

    /** Kafka client settings for the SSL listener, trusting the test CA. */
    private static Map<String, Object> tls() {
        Map<String, Object> config = new HashMap<>();
        config.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SSL");
        config.put(SslConfigs.SSL_TRUSTSTORE_LOCATION_CONFIG, certs.resolve("truststore.p12").toString());
        config.put(SslConfigs.SSL_TRUSTSTORE_TYPE_CONFIG, "PKCS12");
        config.put(SslConfigs.SSL_TRUSTSTORE_PASSWORD_CONFIG, password);
        return config;
    }

    @Test
    void kafkaClientsProduceAndConsumeOverTlsAndAreToldTheTlsEndpoints() throws Exception {
        String topic = "over-tls";
        Map<String, Object> adminConfig = new HashMap<>(tls());
        adminConfig.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, sslBootstrap());
        try (Admin admin = Admin.create(adminConfig)) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(60, TimeUnit.SECONDS);
            // The brokers a TLS client is told about are their TLS endpoints
            assertThat(admin.describeCluster().nodes().get(60, TimeUnit.SECONDS)).extracting(Node::port)
                    .containsExactly(sslPort);
        }
        // and a plaintext client is told the plaintext ones
        try (Admin admin = Clients.admin(node.bootstrap())) {
            assertThat(admin.describeCluster().nodes().get(60, TimeUnit.SECONDS)).extracting(Node::port)
                    .containsExactly(node.port());
        }

        List<String> sent = new ArrayList<>();
        Map<String, Object> producerConfig = new HashMap<>(tls());
        producerConfig.put(ProducerConfig.ACKS_CONFIG, "all");
        try (KafkaProducer<String, String> producer = Clients.producer(sslBootstrap(), producerConfig)) {
            for (int i = 0; i < 50; i++) {
                producer.send(new ProducerRecord<>(topic, "k" + i, "v" + i)).get(60, TimeUnit.SECONDS);
                sent.add("v" + i);
            }
        }
        Map<String, Object> consumerConfig = new HashMap<>(tls());
        consumerConfig.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, sslBootstrap());
        consumerConfig.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        consumerConfig.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        List<String> read = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(consumerConfig, new StringDeserializer(),
                new StringDeserializer())) {
            TopicPartition tp = new TopicPartition(topic, 0);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            await("reading back over TLS").atMost(Clients.CLIENT_DEADLINE).pollInSameThread()
                    .pollInterval(Duration.ZERO).until(() -> {
                        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                            read.add(r.value());
                        }
                        return read.size() >= sent.size();
                    });
        }
        assertThat(read).isEqualTo(sent);
    }

    @Test
    void kcatProducesAndConsumesOverTls() {
        if (!"true".equals(System.getenv("CI")) && !ExternalCommand.onPath("kcat")) {
            org.junit.jupiter.api.Assumptions.abort("kcat is not on PATH (install it: apt-get install kcat)");
        }
        assertThat(ExternalCommand.onPath("kcat")).as("kcat on PATH (.ci/run installs it)").isTrue();
        String topic = "kcat-tls";
        Clients.createTopic(node.bootstrap(), topic, 1);
        List<String> tlsArgs = List.of("-b", sslBootstrap(), "-X", "security.protocol=ssl", "-X",
                "ssl.ca.location=" + certs.resolve("ca.pem"));
        List<String> produce = new ArrayList<>(List.of("kcat", "-P", "-t", topic));
        produce.addAll(tlsArgs);
        ExternalCommand.Result produced = ExternalCommand.run(produce, "a\nb\nc\n", Duration.ofSeconds(60), work);
        assertThat(produced.exitCode()).as(produced.toString()).isZero();
        List<String> consume = new ArrayList<>(List.of("kcat", "-C", "-t", topic, "-o", "beginning", "-c", "3",
                "-e"));
        consume.addAll(tlsArgs);
        ExternalCommand.Result consumed = ExternalCommand.run(consume, "", Duration.ofSeconds(60), work);
        assertThat(consumed.exitCode()).as(consumed.toString()).isZero();
        assertThat(consumed.stdout().lines().toList()).containsExactly("a", "b", "c");
    }

    @Test
    void aPlaintextClientOnTheTlsPortIsDroppedAndOthersAreServed() throws Exception {
        // An ApiVersions request in plaintext to the TLS port: TLS sees garbage and closes the connection
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", sslPort), 10_000);
            socket.setSoTimeout(20_000);
            byte[] clientId = "raw".getBytes(StandardCharsets.UTF_8);
            ByteBuffer request = ByteBuffer.allocate(4 + 2 + 2 + 4 + 2 + clientId.length);
            request.putInt(request.capacity() - 4).putShort((short) 18).putShort((short) 0).putInt(1)
                    .putShort((short) clientId.length).put(clientId);
            OutputStream out = socket.getOutputStream();
            out.write(request.array());
            out.flush();
            InputStream in = socket.getInputStream();
            byte[] answer = in.readNBytes(4096);
            // No Kafka response: at most a TLS alert record (content type 21), then end of stream
            if (answer.length > 0) {
                assertThat(answer[0]).as("first byte of the answer: a TLS alert, not a Kafka frame").isEqualTo((byte) 21);
            }
        }
        // The node keeps serving TLS and plaintext clients
        Map<String, Object> adminConfig = new HashMap<>(tls());
        adminConfig.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, sslBootstrap());
        try (Admin admin = Admin.create(adminConfig)) {
            assertThat(admin.describeCluster().nodes().get(60, TimeUnit.SECONDS)).hasSize(1);
        }
        try (Admin admin = Clients.admin(node.bootstrap())) {
            assertThat(admin.describeCluster().nodes().get(60, TimeUnit.SECONDS)).hasSize(1);
        }
    }
}
