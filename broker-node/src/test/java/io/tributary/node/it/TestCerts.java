package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.SslConfigs;

/**
 * A throwaway CA with node keystores for 127.0.0.1, made by {@code deploy/make-certs.sh} (keytool only), and the
 * client settings that trust it; plus the kcat checks the TLS and SASL tests share.
 */
record TestCerts(Path dir, String password) {

    /** Makes a CA and {@code nodes} node keystores under {@code work/certs}. */
    static TestCerts make(Path work, int nodes) {
        Path dir = work.resolve("certs");
        Path script = Path.of("").toAbsolutePath().getParent().resolve("deploy").resolve("make-certs.sh");
        List<String> command = new ArrayList<>(List.of("bash", script.toString(), dir.toString()));
        for (int i = 0; i < nodes; i++) {
            command.add("127.0.0.1");
        }
        ExternalCommand.Result made = ExternalCommand.run(command, "", Duration.ofMinutes(3), work);
        assertThat(made.exitCode()).as(made.toString()).isZero();
        try {
            return new TestCerts(dir, Files.readString(dir.resolve("password"), StandardCharsets.UTF_8).trim());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    Path nodeKeystore(int node) {
        return dir.resolve("node-" + node + ".p12");
    }

    /**
     * Node {@code node}'s key and certificate chain as one PEM file (Kafka's {@code ssl.keystore.type=PEM} with a
     * {@code ssl.keystore.location}), converted from its PKCS12 keystore with openssl; the key is not encrypted.
     */
    Path nodePem(int node) {
        Path pem = dir.resolve("node-" + node + ".pem-keystore");
        if (!Files.exists(pem)) {
            // The key, then the chain from the node's certificate up: the order a PEM keystore needs.
            ExternalCommand.Result key = ExternalCommand.run(List.of("openssl", "pkcs12", "-in",
                    nodeKeystore(node).toString(), "-passin", "pass:" + password, "-nocerts", "-nodes"),
                    "", Duration.ofSeconds(60), dir);
            ExternalCommand.Result leaf = ExternalCommand.run(List.of("openssl", "pkcs12", "-in",
                    nodeKeystore(node).toString(), "-passin", "pass:" + password, "-clcerts", "-nokeys"),
                    "", Duration.ofSeconds(60), dir);
            assertThat(key.exitCode()).as(key.toString()).isZero();
            assertThat(leaf.exitCode()).as(leaf.toString()).isZero();
            try {
                Files.writeString(pem, key.stdout() + leaf.stdout() + Files.readString(caPem()));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return pem;
    }

    Path truststore() {
        return dir.resolve("truststore.p12");
    }

    Path caPem() {
        return dir.resolve("ca.pem");
    }

    /** Kafka client settings trusting this CA (add {@code security.protocol}). */
    Map<String, Object> clientTrust() {
        Map<String, Object> config = new HashMap<>();
        config.put(SslConfigs.SSL_TRUSTSTORE_LOCATION_CONFIG, truststore().toString());
        config.put(SslConfigs.SSL_TRUSTSTORE_TYPE_CONFIG, "PKCS12");
        config.put(SslConfigs.SSL_TRUSTSTORE_PASSWORD_CONFIG, password);
        return config;
    }

    /** kcat produces {@code lines} to {@code topic} and reads them back, with {@code connection} options. */
    static void kcatRoundTrip(String topic, List<String> lines, List<String> connection, Path workDir) {
        if (!"true".equals(System.getenv("CI")) && !ExternalCommand.onPath("kcat")) {
            org.junit.jupiter.api.Assumptions.abort("kcat is not on PATH (install it: apt-get install kcat)");
        }
        assertThat(ExternalCommand.onPath("kcat")).as("kcat on PATH (.ci/run installs it)").isTrue();
        List<String> produce = new ArrayList<>(List.of("kcat", "-P", "-t", topic));
        produce.addAll(connection);
        ExternalCommand.Result produced = ExternalCommand.run(produce, String.join("\n", lines) + "\n",
                Duration.ofSeconds(60), workDir);
        assertThat(produced.exitCode()).as(produced.toString()).isZero();
        List<String> consume = new ArrayList<>(List.of("kcat", "-C", "-t", topic, "-o", "beginning", "-c",
                Integer.toString(lines.size()), "-e"));
        consume.addAll(connection);
        ExternalCommand.Result consumed = ExternalCommand.run(consume, "", Duration.ofSeconds(60), workDir);
        assertThat(consumed.exitCode()).as(consumed.toString()).isZero();
        assertThat(consumed.stdout().lines().toList()).containsExactlyElementsOf(lines);
    }
}
