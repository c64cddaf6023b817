package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Node;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 11, TLS for clients: a node with a PLAINTEXT and an SSL listener (Kafka's {@code listeners},
 * {@code listener.security.protocol.map} and {@code ssl.*} keys). Kafka's Java clients and kcat produce and consume
 * over TLS, each listener's clients are told the brokers' endpoints on that same listener, and a client that speaks
 * plaintext to the TLS port is dropped without harming anyone else. The node's key, certificate and trusted CA are
 * PEM files ({@code ssl.keystore.type=PEM}, {@code ssl.truststore.type=PEM}). With {@code ssl.client.auth=requested} and ACLs
 * on, a client certificate's subject is the client's principal ({@code User:CN=...}, Kafka's default mapping); a
 * client without one is {@code User:ANONYMOUS} (a super user here, like the plaintext operator).
 */
class ClientTlsIT {

    private static Path work;
    private static TestCerts certs;
    private static NodeProcess node;
    private static int sslPort;

    @BeforeAll
    static void start() throws Exception {
        work = Files.createTempDirectory("tributary-client-tls-");
        certs = TestCerts.make(work, 2);
        List<Integer> ports = NodeProcess.freePorts(2);
        sslPort = ports.get(1);
        Path dir = Files.createDirectories(work.resolve("node"));
        // PEM files, as Kafka reads them (the other TLS tests use PKCS12 keystores)
        node = NodeProcess.prepare(1, dir, ports.get(0), withClientAuthAndAcls(Map.of(
                "listeners", "PLAINTEXT://127.0.0.1:" + ports.get(0) + ",SSL://127.0.0.1:" + sslPort,
                "advertised.listeners", "PLAINTEXT://127.0.0.1:" + ports.get(0) + ",SSL://127.0.0.1:" + sslPort,
                "ssl.keystore.location", certs.nodePem(1).toString(),
                "ssl.keystore.type", "PEM")));
        node.restart();
    }

    /** Client certificates requested (not required) and ACLs on; certificate-less clients are super users. */
    private static Map<String, String> withClientAuthAndAcls(Map<String, String> config) {
        Map<String, String> all = new HashMap<>(config);
        all.putAll(Map.of(
                "ssl.client.auth", "requested",
                "ssl.truststore.location", certs.caPem().toString(),
                "ssl.truststore.type", "PEM",
                "authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                "super.users", "User:ANONYMOUS"));
        return all;
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
        Map<String, Object> config = certs.clientTrust();
        config.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SSL");
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
        List<String> read = Clients.readValues(sslBootstrap(), tls(), topic, sent.size());
        assertThat(read).isEqualTo(sent);
    }

    @Test
    void aClientCertificatesSubjectIsThePrincipalAclsName() throws Exception {
        String topic = "mtls";
        Clients.createTopic(node.bootstrap(), topic, 1);
        Map<String, Object> withCertificate = new HashMap<>(tls());
        withCertificate.put(org.apache.kafka.common.config.SslConfigs.SSL_KEYSTORE_LOCATION_CONFIG,
                certs.nodeKeystore(2).toString());
        withCertificate.put(org.apache.kafka.common.config.SslConfigs.SSL_KEYSTORE_TYPE_CONFIG, "PKCS12");
        withCertificate.put(org.apache.kafka.common.config.SslConfigs.SSL_KEYSTORE_PASSWORD_CONFIG,
                certs.password());
        withCertificate.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 20_000);
        try (KafkaProducer<String, String> producer = Clients.producer(sslBootstrap(), withCertificate)) {
            assertThatThrownBy(() -> producer.send(new ProducerRecord<>(topic, "k", "v")).get(60, TimeUnit.SECONDS))
                    .hasCauseInstanceOf(org.apache.kafka.common.errors.TopicAuthorizationException.class);
        }
        try (Admin admin = Clients.admin(node.bootstrap())) {
            admin.createAcls(List.of(new org.apache.kafka.common.acl.AclBinding(
                    new org.apache.kafka.common.resource.ResourcePattern(
                            org.apache.kafka.common.resource.ResourceType.TOPIC, topic,
                            org.apache.kafka.common.resource.PatternType.LITERAL),
                    new org.apache.kafka.common.acl.AccessControlEntry("User:CN=node-2", "*",
                            org.apache.kafka.common.acl.AclOperation.WRITE,
                            org.apache.kafka.common.acl.AclPermissionType.ALLOW))))
                    .all().get(60, TimeUnit.SECONDS);
        }
        try (KafkaProducer<String, String> producer = Clients.producer(sslBootstrap(), withCertificate)) {
            producer.send(new ProducerRecord<>(topic, "k", "v")).get(60, TimeUnit.SECONDS);
        }
    }

    @Test
    void kcatProducesAndConsumesOverTls() {
        String topic = "kcat-tls";
        Clients.createTopic(node.bootstrap(), topic, 1);
        TestCerts.kcatRoundTrip(topic, List.of("a", "b", "c"), List.of("-b", sslBootstrap(), "-X",
                "security.protocol=ssl", "-X", "ssl.ca.location=" + certs.caPem()), work);
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
