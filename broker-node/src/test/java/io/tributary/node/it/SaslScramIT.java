package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialDeletion;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.clients.admin.UserScramCredentialsDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.errors.ResourceNotFoundException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.UnacceptableCredentialException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 11, SCRAM: users created with AlterUserScramCredentials (what {@code kafka-configs --alter --add-config
 * 'SCRAM-SHA-512=[password=...]' --entity-type users} sends) log in with SCRAM-SHA-256 and SCRAM-SHA-512 over
 * SASL_SSL from kafka-clients and kcat; a wrong password and a deleted credential fail with Kafka's authentication
 * error; DescribeUserScramCredentials shows mechanisms and iterations, never keys.
 */
class SaslScramIT {

    private static Path work;
    private static TestCerts certs;
    private static NodeProcess node;
    private static int saslSslPort;

    @BeforeAll
    static void start() throws Exception {
        work = Files.createTempDirectory("tributary-sasl-scram-");
        certs = TestCerts.make(work, 1);
        List<Integer> ports = NodeProcess.freePorts(2);
        saslSslPort = ports.get(1);
        String listeners = "PLAINTEXT://127.0.0.1:" + ports.get(0) + ",SASL_SSL://127.0.0.1:" + saslSslPort;
        Path dir = Files.createDirectories(work.resolve("node"));
        node = NodeProcess.prepare(1, dir, ports.get(0), Map.of(
                "listeners", listeners,
                "advertised.listeners", listeners,
                "sasl.enabled.mechanisms", "SCRAM-SHA-256,SCRAM-SHA-512",
                "ssl.keystore.location", certs.nodeKeystore(1).toString(),
                "ssl.keystore.type", "PKCS12",
                "ssl.keystore.password", certs.password()));
        node.restart();
        try (Admin admin = Clients.admin(node.bootstrap())) {
            admin.alterUserScramCredentials(List.of(
                    new UserScramCredentialUpsertion("alice", new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256,
                            8192), "alice-secret"),
                    new UserScramCredentialUpsertion("bob", new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512,
                            4096), "bob-secret"),
                    new UserScramCredentialUpsertion("carol", new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512,
                            4096), "carol-secret")))
                    .all().get(60, TimeUnit.SECONDS);
        }
    }

    @AfterAll
    static void stop() {
        if (node != null) {
            node.close();
        }
    }

    private static Map<String, Object> scram(String mechanism, String user, String password) {
        Map<String, Object> config = certs.clientTrust();
        config.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_SSL");
        config.put(SaslConfigs.SASL_MECHANISM, mechanism);
        config.put(SaslConfigs.SASL_JAAS_CONFIG, "org.apache.kafka.common.security.scram.ScramLoginModule required "
                + "username=\"" + user + "\" password=\"" + password + "\";");
        return config;
    }

    private static void roundTrip(String topic, Map<String, Object> config) throws Exception {
        Clients.createTopic(node.bootstrap(), topic, 1);
        String bootstrap = "127.0.0.1:" + saslSslPort;
        List<String> sent = new ArrayList<>();
        try (KafkaProducer<String, String> producer = Clients.producer(bootstrap, config)) {
            for (int i = 0; i < 10; i++) {
                producer.send(new ProducerRecord<>(topic, "k", "v" + i)).get(60, TimeUnit.SECONDS);
                sent.add("v" + i);
            }
        }
        assertThat(Clients.readValues(bootstrap, config, topic, sent.size())).isEqualTo(sent);
    }

    private static void assertLoginFails(Map<String, Object> config) {
        config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 20_000);
        try (KafkaProducer<String, String> producer = Clients.producer("127.0.0.1:" + saslSslPort, config)) {
            assertThatThrownBy(() -> producer.send(new ProducerRecord<>("scram-denied", "k", "v"))
                    .get(60, TimeUnit.SECONDS))
                    .satisfiesAnyOf(
                            e -> assertThat(e).isInstanceOf(SaslAuthenticationException.class),
                            e -> assertThat(e).isInstanceOf(ExecutionException.class)
                                    .hasCauseInstanceOf(SaslAuthenticationException.class));
        }
    }

    @Test
    void scramSha256AndSha512UsersProduceAndConsume() throws Exception {
        roundTrip("scram-256", scram("SCRAM-SHA-256", "alice", "alice-secret"));
        roundTrip("scram-512", scram("SCRAM-SHA-512", "bob", "bob-secret"));
    }

    @Test
    void aWrongPasswordOrAnotherMechanismFailsToLogIn() {
        assertLoginFails(scram("SCRAM-SHA-512", "bob", "not-bobs"));
        // alice has a SHA-256 credential only
        assertLoginFails(scram("SCRAM-SHA-512", "alice", "alice-secret"));
        assertLoginFails(scram("SCRAM-SHA-256", "nobody", "x"));
    }

    @Test
    void aDeletedCredentialNoLongerLogsIn() throws Exception {
        roundTrip("scram-carol", scram("SCRAM-SHA-512", "carol", "carol-secret"));
        try (Admin admin = Clients.admin(node.bootstrap())) {
            admin.alterUserScramCredentials(List.of(new UserScramCredentialDeletion("carol",
                    ScramMechanism.SCRAM_SHA_512))).all().get(60, TimeUnit.SECONDS);
            assertThatThrownBy(() -> admin.alterUserScramCredentials(List.of(new UserScramCredentialDeletion(
                    "carol", ScramMechanism.SCRAM_SHA_512))).all().get(60, TimeUnit.SECONDS))
                    .hasCauseInstanceOf(ResourceNotFoundException.class);
        }
        assertLoginFails(scram("SCRAM-SHA-512", "carol", "carol-secret"));
    }

    @Test
    void describeShowsMechanismsAndIterationsAndBadCredentialsAreRefused() throws Exception {
        try (Admin admin = Clients.admin(node.bootstrap())) {
            Map<String, UserScramCredentialsDescription> described = admin.describeUserScramCredentials(
                    List.of("alice", "bob")).all().get(60, TimeUnit.SECONDS);
            assertThat(described.get("alice").credentialInfos()).containsExactly(
                    new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 8192));
            assertThat(described.get("bob").credentialInfos()).containsExactly(
                    new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096));
            // all() leaves out users that do not exist; description(user) fails for them
            assertThatThrownBy(() -> admin.describeUserScramCredentials(List.of("nobody")).description("nobody")
                    .get(60, TimeUnit.SECONDS)).hasCauseInstanceOf(ResourceNotFoundException.class);
            assertThatThrownBy(() -> admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(
                    "dave", new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 100), "x"))).all()
                    .get(60, TimeUnit.SECONDS)).hasCauseInstanceOf(UnacceptableCredentialException.class);
        }
    }

    @Test
    void kcatLogsInWithScramSha256AndSha512() {
        for (String[] login : List.of(new String[] {"SCRAM-SHA-256", "alice", "alice-secret"},
                new String[] {"SCRAM-SHA-512", "bob", "bob-secret"})) {
            String topic = "kcat-scram-" + login[1];
            Clients.createTopic(node.bootstrap(), topic, 1);
            TestCerts.kcatRoundTrip(topic, List.of("x", "y"), List.of("-b",
                    "127.0.0.1:" + saslSslPort, "-X", "security.protocol=sasl_ssl", "-X", "sasl.mechanisms="
                    + login[0], "-X", "sasl.username=" + login[1], "-X", "sasl.password=" + login[2],
                    "-X", "ssl.ca.location=" + certs.caPem()), work);
        }
    }
}
