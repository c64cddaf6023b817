package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node that cannot start exits with a non-zero status instead of lingering half-started: before this, a Kafka
 * port in use failed only the main thread, after the node had registered, while Ratis and gRPC threads kept the
 * process (and its place in the cluster) alive.
 */
class StartupFailureIT {

    @TempDir
    Path dir;
    private NodeProcess node;

    @AfterEach
    void close() {
        if (node != null) {
            node.close();
        }
    }

    @Test
    void aTakenKafkaPortMakesAVoterExitNonZeroBeforeRegistering() throws Exception {
        List<Integer> ports = NodeProcess.freePorts(3);
        int kafkaPort = ports.get(0);
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress("127.0.0.1", kafkaPort));
            // A one-voter quorum: the Ratis server and the gRPC replication server are up (non-daemon threads)
            // by the time the Kafka listener would open.
            node = NodeProcess.prepare(1, dir, kafkaPort, ports.get(2),
                    Map.of("controller.quorum.voters", "1@127.0.0.1:" + ports.get(1)));
            node.spawn();

            OptionalInt exit = node.awaitExitCode(Duration.ofSeconds(60));

            assertThat(exit).as("exit code; log:\n%s", node.logTail(40)).isPresent();
            assertThat(exit.getAsInt()).isNotZero();
            String log = node.logSince(0);
            assertThat(log).contains("failed to start").contains("cannot listen on 127.0.0.1:" + kafkaPort);
            assertThat(log).doesNotContain("registered with controller");
        }
    }

    @Test
    void aDataDirOfAnotherNodeMakesTheNodeExitNonZero() throws Exception {
        List<Integer> ports = NodeProcess.freePorts(3);
        Path data = dir.resolve("data");
        java.nio.file.Files.createDirectories(data);
        java.nio.file.Files.writeString(data.resolve("meta.properties"), "node.id=7\ncluster.id=x\n");
        node = NodeProcess.prepare(1, dir, ports.get(0), ports.get(2),
                Map.of("controller.quorum.voters", "1@127.0.0.1:" + ports.get(1)));
        node.spawn();

        OptionalInt exit = node.awaitExitCode(Duration.ofSeconds(60));

        assertThat(exit).as("exit code; log:\n%s", node.logTail(40)).isPresent();
        assertThat(exit.getAsInt()).isNotZero();
        assertThat(node.logSince(0)).contains("belongs to node 7");
    }

    @Test
    void aMissingKeystoreOrAWrongTruststorePasswordMakesTheNodeExitNonZeroNamingTheSetting() throws Exception {
        List<Integer> ports = NodeProcess.freePorts(3);
        java.nio.file.Path truststore = dir.resolve("truststore.p12");
        java.security.KeyStore empty = java.security.KeyStore.getInstance("PKCS12");
        empty.load(null, null);
        try (var out = java.nio.file.Files.newOutputStream(truststore)) {
            empty.store(out, "right".toCharArray());
        }
        Map<String, String> tls = Map.of(
                "controller.quorum.voters", "1@127.0.0.1:" + ports.get(1),
                "inter.node.security.protocol", "SSL",
                "inter.node.ssl.keystore.location", dir.resolve("missing.p12").toString(),
                "inter.node.ssl.truststore.location", truststore.toString(),
                "inter.node.ssl.truststore.password", "wrong");
        node = NodeProcess.prepare(1, java.nio.file.Files.createDirectories(dir.resolve("a")), ports.get(0), ports.get(2), tls);
        node.spawn();
        OptionalInt exit = node.awaitExitCode(Duration.ofSeconds(60));
        assertThat(exit).as("exit code; log:\n%s", node.logTail(40)).isPresent();
        assertThat(exit.getAsInt()).isNotZero();
        assertThat(node.logSince(0)).contains("inter.node.ssl.keystore.location").contains("missing.p12")
                .doesNotContain("joined the metadata quorum");
        node.close();

        // The keystore exists now (the truststore file, which holds no key), but the truststore password is wrong
        Map<String, String> wrongPassword = new java.util.HashMap<>(tls);
        wrongPassword.put("inter.node.ssl.keystore.location", truststore.toString());
        wrongPassword.put("inter.node.ssl.keystore.password", "right");
        node = NodeProcess.prepare(1, java.nio.file.Files.createDirectories(dir.resolve("b")), ports.get(0), ports.get(2), wrongPassword);
        node.spawn();
        exit = node.awaitExitCode(Duration.ofSeconds(60));
        assertThat(exit).as("exit code; log:\n%s", node.logTail(40)).isPresent();
        assertThat(exit.getAsInt()).isNotZero();
        assertThat(node.logSince(0)).contains("inter.node.ssl.truststore.password");
    }
}
