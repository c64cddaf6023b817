package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
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
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 11, SASL/PLAIN for clients, configured as on a Kafka broker ({@code sasl.enabled.mechanisms}, a
 * {@code listener.name.<listener>.plain.sasl.jaas.config} with {@code user_<name>} entries): Java clients and kcat
 * authenticate over SASL_SSL and SASL_PLAINTEXT, a wrong password fails with Kafka's authentication error and is
 * counted in {@code /metrics}, and a request sent before authenticating closes the connection.
 */
class SaslPlainIT {

    private static final String JAAS = "org.apache.kafka.common.security.plain.PlainLoginModule required "
            + "username=\"admin\" password=\"admin-secret\" user_admin=\"admin-secret\" user_alice=\"alice-secret\";";

    private static Path work;
    private static TestCerts certs;
    private static NodeProcess node;
    private static int saslPlaintextPort;
    private static int saslSslPort;
    private static int metricsPort;

    @BeforeAll
    static void start() throws Exception {
        work = Files.createTempDirectory("tributary-sasl-plain-");
        certs = TestCerts.make(work, 1);
        List<Integer> ports = NodeProcess.freePorts(4);
        saslPlaintextPort = ports.get(1);
        saslSslPort = ports.get(2);
        metricsPort = ports.get(3);
        String listeners = "PLAINTEXT://127.0.0.1:" + ports.get(0) + ",SASL_PLAINTEXT://127.0.0.1:"
                + saslPlaintextPort + ",SASL_SSL://127.0.0.1:" + saslSslPort;
        Path dir = Files.createDirectories(work.resolve("node"));
        node = NodeProcess.prepare(1, dir, ports.get(0), Map.of(
                "listeners", listeners,
                "advertised.listeners", listeners,
                "sasl.enabled.mechanisms", "PLAIN",
                "listener.name.sasl_plaintext.plain.sasl.jaas.config", JAAS,
                "listener.name.sasl_ssl.plain.sasl.jaas.config", JAAS,
                "ssl.keystore.location", certs.nodeKeystore(1).toString(),
                "ssl.keystore.type", "PKCS12",
                "ssl.keystore.password", certs.password(),
                "metrics.listener", "127.0.0.1:" + metricsPort));
        node.restart();
    }

    @AfterAll
    static void stop() {
        if (node != null) {
            node.close();
        }
    }

    private static Map<String, Object> saslSsl(String user, String userPassword) {
        Map<String, Object> config = certs.clientTrust();
        config.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_SSL");
        config.put(SaslConfigs.SASL_MECHANISM, "PLAIN");
        config.put(SaslConfigs.SASL_JAAS_CONFIG, "org.apache.kafka.common.security.plain.PlainLoginModule required "
                + "username=\"" + user + "\" password=\"" + userPassword + "\";");
        return config;
    }

    @Test
    void aUserWithItsPasswordProducesAndConsumesOverSaslSsl() throws Exception {
        String topic = "sasl-plain";
        Clients.createTopic(node.bootstrap(), topic, 1);
        String bootstrap = "127.0.0.1:" + saslSslPort;
        List<String> sent = new ArrayList<>();
        try (KafkaProducer<String, String> producer = Clients.producer(bootstrap, saslSsl("alice", "alice-secret"))) {
            for (int i = 0; i < 20; i++) {
                producer.send(new ProducerRecord<>(topic, "k", "v" + i)).get(60, TimeUnit.SECONDS);
                sent.add("v" + i);
            }
        }
        List<String> read = Clients.readValues(bootstrap, saslSsl("alice", "alice-secret"), topic, sent.size());
        assertThat(read).isEqualTo(sent);
    }

    @Test
    void aWrongPasswordFailsWithAnAuthenticationErrorAndIsCounted() throws Exception {
        double before = failedLogins();
        Map<String, Object> config = saslSsl("alice", "not-her-password");
        config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 20_000);
        try (KafkaProducer<String, String> producer = Clients.producer("127.0.0.1:" + saslSslPort, config)) {
            assertThatThrownBy(() -> producer.send(new ProducerRecord<>("sasl-denied", "k", "v"))
                    .get(60, TimeUnit.SECONDS))
                    .satisfiesAnyOf(
                            e -> assertThat(e).isInstanceOf(SaslAuthenticationException.class),
                            e -> assertThat(e).isInstanceOf(ExecutionException.class)
                                    .hasCauseInstanceOf(SaslAuthenticationException.class));
        }
        await("the failed login counted").atMost(Duration.ofSeconds(30))
                .untilAsserted(() -> assertThat(failedLogins()).isGreaterThan(before));
    }

    @Test
    void aRequestBeforeAuthenticationClosesTheConnection() throws Exception {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", saslPlaintextPort), 10_000);
            socket.setSoTimeout(20_000);
            // Metadata v1, no topics (null array), client id "raw"
            byte[] clientId = "raw".getBytes(StandardCharsets.UTF_8);
            ByteBuffer request = ByteBuffer.allocate(4 + 2 + 2 + 4 + 2 + clientId.length + 4);
            request.putInt(request.capacity() - 4).putShort((short) 3).putShort((short) 1).putInt(7)
                    .putShort((short) clientId.length).put(clientId).putInt(-1);
            OutputStream out = socket.getOutputStream();
            out.write(request.array());
            out.flush();
            InputStream in = socket.getInputStream();
            assertThat(in.read()).as("the node closes the connection without an answer").isEqualTo(-1);
        }
    }

    @Test
    void aLargeFrameBeforeAuthenticationClosesTheConnection() throws Exception {
        int size = 600 * 1024; // above Kafka's sasl.server.max.receive.size (512 KiB)
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", saslPlaintextPort), 10_000);
            socket.setSoTimeout(20_000);
            ByteBuffer frame = ByteBuffer.allocate(4 + size);
            frame.putInt(size).putShort((short) 18).putShort((short) 3).putInt(1);
            int answer;
            try {
                socket.getOutputStream().write(frame.array());
                answer = socket.getInputStream().read();
            } catch (java.io.IOException closedWhileWriting) {
                answer = -1; // reset by the node: closed as well
            }
            assertThat(answer).as("the node closes the connection without an answer").isEqualTo(-1);
        }
        // and keeps serving everyone else
        Clients.createTopic(node.bootstrap(), "after-large-frame", 1);
        try (KafkaProducer<String, String> producer = Clients.producer("127.0.0.1:" + saslSslPort,
                saslSsl("alice", "alice-secret"))) {
            producer.send(new ProducerRecord<>("after-large-frame", "k", "v")).get(60, TimeUnit.SECONDS);
        }
    }

    @Test
    void kcatAuthenticatesWithPlainOverSaslSsl() {
        String topic = "kcat-sasl";
        Clients.createTopic(node.bootstrap(), topic, 1);
        TestCerts.kcatRoundTrip(topic, List.of("x", "y"), List.of("-b", "127.0.0.1:" + saslSslPort,
                "-X", "security.protocol=sasl_ssl", "-X", "sasl.mechanisms=PLAIN", "-X", "sasl.username=alice",
                "-X", "sasl.password=alice-secret", "-X", "ssl.ca.location=" + certs.caPem()), work);
    }

    /** {@code tributary_sasl_authentication_failures_total} of the SASL_SSL listener, 0 before the first. */
    private static double failedLogins() {
        return PrometheusScrape.of(metricsPort).sum("tributary_sasl_authentication_failures_total",
                "listener=\"SASL_SSL\"");
    }
}
