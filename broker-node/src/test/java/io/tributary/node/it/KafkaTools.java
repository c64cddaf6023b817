package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Runs one of Kafka's command-line tools (a main class of the kafka-tools jars the build's copy-kafka-tools
 * execution puts in {@code target/kafka-tools}) in its own small JVM, as its shell script would.
 */
final class KafkaTools {

    private KafkaTools() {}

    /** Runs {@code mainClass} with {@code --bootstrap-server bootstrap} and {@code args}, within {@code deadline}. */
    static ExternalCommand.Result run(String mainClass, String bootstrap, Duration deadline, Path workDir,
            String... args) {
        Path jars = Path.of(System.getProperty("kafka.tools.dir", "target/kafka-tools")).toAbsolutePath();
        try (var files = Files.list(jars)) {
            assertThat(files.map(file -> file.getFileName().toString()))
                    .as("jars the build's copy-kafka-tools execution put in %s", jars)
                    .anyMatch(name -> name.startsWith("kafka-tools-") && !name.startsWith("kafka-tools-api"));
        } catch (IOException e) {
            throw new UncheckedIOException("no kafka-tools in " + jars + " (run through mvn verify)", e);
        }
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx128m", NodeProcess.C1_ONLY,
                "-cp", jars + "/*", mainClass, "--bootstrap-server", bootstrap));
        command.addAll(Arrays.asList(args));
        return ExternalCommand.run(command, "", deadline, workDir);
    }
}
