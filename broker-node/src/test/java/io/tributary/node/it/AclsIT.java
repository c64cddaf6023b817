package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 11, authorization: a 3-node cluster with {@code authorizer.class.name} set, SCRAM-SHA-512 users on a SASL_SSL
 * listener of every node, and ACLs managed with Kafka's own {@code kafka-acls} (AclCommand) and Admin API. A user
 * with no ACL is refused (TOPIC_AUTHORIZATION_FAILED) and sees no topics; a Write ACL lets a user produce to that
 * topic and nothing else; group READ ACLs gate consumer groups; ACLs and SCRAM users survive a controller fail-over
 * and a restart of every node. The PLAINTEXT listener stands for an operator's port: its principal
 * (User:ANONYMOUS) is a super user here.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AclsIT {

    private static final int NODES = 3;
    private static final Path WORK = workDir();
    private static final TestCerts CERTS = TestCerts.make(WORK, NODES);
    private static final Duration TOOL_DEADLINE = Duration.ofMinutes(2);

    @RegisterExtension
    static final ClusterProcesses cluster = new ClusterProcesses(NODES, NODES, Map.of(
            "authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "super.users", "User:admin;User:ANONYMOUS",
            "sasl.enabled.mechanisms", "SCRAM-SHA-512",
            "ssl.keystore.type", "PKCS12",
            "ssl.keystore.password", CERTS.password(),
            "offsets.topic.num.partitions", "3"))
            .withPerNode((id, clientPort, saslPort) -> {
                String listeners = "PLAINTEXT://127.0.0.1:" + clientPort + ",SASL_SSL://127.0.0.1:" + saslPort;
                return Map.of("listeners", listeners, "advertised.listeners", listeners,
                        "ssl.keystore.location", CERTS.nodeKeystore(id).toString());
            });

    private static Path workDir() {
        try {
            return Files.createTempDirectory("tributary-acls-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @BeforeAll
    static void usersAndTopics() throws Exception {
        try (Admin admin = Clients.admin(cluster.bootstrap())) {
            admin.alterUserScramCredentials(List.of(
                    new UserScramCredentialUpsertion("alice", new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512,
                            4096), "alice-secret"),
                    new UserScramCredentialUpsertion("bob", new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512,
                            4096), "bob-secret")))
                    .all().get(60, TimeUnit.SECONDS);
        }
        for (String topic : List.of("t", "other")) {
            Clients.createTopic(cluster.bootstrap(), topic, 1, 3);
        }
        try (KafkaProducer<String, String> operator = Clients.producer(cluster.bootstrap(), Map.of())) {
            operator.send(new ProducerRecord<>("t", "k", "operator")).get(60, TimeUnit.SECONDS);
        }
    }

    private static String saslBootstrap() {
        return cluster.ids().stream().map(id -> "127.0.0.1:" + cluster.extraPort(id))
                .collect(Collectors.joining(","));
    }

    private static Map<String, Object> login(String user) {
        Map<String, Object> config = CERTS.clientTrust();
        config.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_SSL");
        config.put(SaslConfigs.SASL_MECHANISM, "SCRAM-SHA-512");
        config.put(SaslConfigs.SASL_JAAS_CONFIG, "org.apache.kafka.common.security.scram.ScramLoginModule required "
                + "username=\"" + user + "\" password=\"" + user + "-secret\";");
        return config;
    }

    private static Admin adminAs(String user) {
        Map<String, Object> config = new HashMap<>(login(user));
        config.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, saslBootstrap());
        config.put(CommonClientConfigs.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000);
        return Admin.create(config);
    }

    /** Sends one record as {@code user}; the exception the send failed with, or null. */
    private static Throwable produceAs(String user, String topic) {
        Map<String, Object> config = login(user);
        config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 30_000);
        config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false);
        try (KafkaProducer<String, String> producer = Clients.producer(saslBootstrap(), config)) {
            producer.send(new ProducerRecord<>(topic, "k", user)).get(60, TimeUnit.SECONDS);
            return null;
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (Exception e) {
            return e;
        }
    }

    private static Set<String> visibleTopics(String user) throws Exception {
        try (Admin admin = adminAs(user)) {
            return admin.listTopics().names().get(60, TimeUnit.SECONDS);
        }
    }

    /** Kafka's kafka-acls (AclCommand) against the operator's PLAINTEXT port, in its own JVM. */
    private static ExternalCommand.Result kafkaAcls(String... args) {
        Path jars = Path.of(System.getProperty("kafka.tools.dir", "target/kafka-tools")).toAbsolutePath();
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-Xmx128m", NodeProcess.C1_ONLY, "-cp", jars + "/*", "org.apache.kafka.tools.AclCommand",
                "--bootstrap-server", cluster.bootstrap()));
        command.addAll(List.of(args));
        return ExternalCommand.run(command, "", TOOL_DEADLINE, WORK);
    }

    @Test
    @Order(1)
    void aUserWithoutAclsIsRefusedAndSeesNoTopics() throws Exception {
        assertThat(produceAs("bob", "t")).isInstanceOf(TopicAuthorizationException.class);
        assertThat(visibleTopics("bob")).isEmpty();
        // the operator (a super user) sees them all
        try (Admin admin = Clients.admin(cluster.bootstrap())) {
            assertThat(admin.listTopics().names().get(60, TimeUnit.SECONDS)).contains("t", "other");
        }
    }

    @Test
    @Order(2)
    void kafkaAclsGrantsWriteOnOneTopicAndNothingElse() throws Exception {
        ExternalCommand.Result added = kafkaAcls("--add", "--allow-principal", "User:alice", "--operation", "Write",
                "--topic", "t");
        assertThat(added.exitCode()).as(added.toString()).isZero();
        await("alice may write to t").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1))
                .until(() -> produceAs("alice", "t") == null);
        assertThat(produceAs("alice", "other")).isInstanceOf(TopicAuthorizationException.class);
        // WRITE implies DESCRIBE: alice sees t, and only t
        assertThat(visibleTopics("alice")).containsExactly("t");
        ExternalCommand.Result listed = kafkaAcls("--list", "--topic", "t");
        assertThat(listed.exitCode()).as(listed.toString()).isZero();
        assertThat(listed.stdout()).contains("User:alice").contains("WRITE");
        // an ordinary user may not manage ACLs
        try (Admin alice = adminAs("alice")) {
            assertThatThrownBy(() -> alice.createAcls(List.of(readAcl(ResourceType.TOPIC, "other", "alice")))
                    .all().get(60, TimeUnit.SECONDS)).hasCauseInstanceOf(
                    org.apache.kafka.common.errors.ClusterAuthorizationException.class);
        }
    }

    private static AclBinding readAcl(ResourceType type, String name, String user) {
        return new AclBinding(new ResourcePattern(type, name, PatternType.LITERAL),
                new AccessControlEntry("User:" + user, "*", AclOperation.READ, AclPermissionType.ALLOW));
    }

    @Test
    @Order(3)
    void groupReadAclsGateConsumerGroups() throws Exception {
        try (Admin admin = Clients.admin(cluster.bootstrap())) {
            admin.createAcls(List.of(readAcl(ResourceType.TOPIC, "t", "alice"))).all().get(60, TimeUnit.SECONDS);
        }
        assertThatThrownBy(() -> consumeInGroup("alice", "g-denied"))
                .isInstanceOf(GroupAuthorizationException.class);
        try (Admin admin = Clients.admin(cluster.bootstrap())) {
            admin.createAcls(List.of(readAcl(ResourceType.GROUP, "g-allowed", "alice"))).all()
                    .get(60, TimeUnit.SECONDS);
        }
        assertThat(consumeInGroup("alice", "g-allowed")).isPositive();
        try (Admin admin = Clients.admin(cluster.bootstrap())) {
            assertThat(admin.listConsumerGroupOffsets("g-allowed").partitionsToOffsetAndMetadata()
                    .get(60, TimeUnit.SECONDS)).isNotEmpty();
        }
    }

    /** Reads t in {@code group} as {@code user} and commits; the number of records read. */
    private static int consumeInGroup(String user, String group) {
        Map<String, Object> config = new HashMap<>(login(user));
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, saslBootstrap());
        config.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(config, new StringDeserializer(),
                new StringDeserializer())) {
            consumer.subscribe(List.of("t"));
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            int read = 0;
            while (read == 0 && System.nanoTime() < deadline) {
                ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(500));
                read += records.count();
            }
            consumer.commitSync(Duration.ofSeconds(30));
            return read;
        }
    }

    @Test
    @Order(4)
    void aclsAndScramUsersSurviveAControllerFailOverAndARestartOfEveryNode() throws Exception {
        int controller = cluster.controllerId();
        cluster.kill(controller);
        assertThat(cluster.awaitHealthy().controllerId()).as("a new controller").isNotEqualTo(controller);
        cluster.restartDeadNodes();
        cluster.awaitHealthy();
        for (int id : cluster.ids()) {
            cluster.kill(id);
        }
        cluster.restartDeadNodes();
        cluster.awaitHealthy();

        await("alice logs in and may still write to t").atMost(Duration.ofSeconds(90))
                .pollInterval(Duration.ofSeconds(1)).until(() -> produceAs("alice", "t") == null);
        assertThat(produceAs("alice", "other")).isInstanceOf(TopicAuthorizationException.class);
        assertThat(produceAs("bob", "t")).isInstanceOf(TopicAuthorizationException.class);
        try (Admin admin = Clients.admin(cluster.bootstrap())) {
            assertThat(admin.describeAcls(AclBindingFilter.ANY).values().get(60, TimeUnit.SECONDS))
                    .extracting(b -> b.entry().principal() + " " + b.entry().operation() + " "
                            + b.pattern().resourceType() + ":" + b.pattern().name())
                    .containsExactlyInAnyOrder("User:alice WRITE TOPIC:t", "User:alice READ TOPIC:t",
                            "User:alice READ GROUP:g-allowed");
            assertThat(admin.describeUserScramCredentials().all().get(60, TimeUnit.SECONDS).keySet())
                    .containsExactlyInAnyOrder("alice", "bob");
        }
    }
}
