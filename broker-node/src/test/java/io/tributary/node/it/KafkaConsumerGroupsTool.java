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
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.IntStream;

/** Kafka's {@code kafka-consumer-groups} (ConsumerGroupCommand from the kafka-tools jars the build copies). */
final class KafkaConsumerGroupsTool {

    private KafkaConsumerGroupsTool() {}

    /** Runs Kafka's ConsumerGroupCommand (kafka-consumer-groups.sh) against the cluster in its own JVM. */
    static ExternalCommand.Result run(String bootstrap, Path workDir, Duration deadline, String... args) {
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
                "-cp", jars + "/*",
                "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
                "--bootstrap-server", bootstrap));
        command.addAll(Arrays.asList(args));
        return ExternalCommand.run(command, "", deadline, workDir);
    }

    /**
     * The rows of {@code --describe} for {@code topic}, by partition, each as column name to value, the names
     * taken from the header line ({@code GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID ...}).
     */
    static Map<Integer, Map<String, String>> describeRows(ExternalCommand.Result describe, String topic) {
        List<String> lines = describe.stdoutLines();
        int header = IntStream.range(0, lines.size())
                .filter(i -> lines.get(i).trim().startsWith("GROUP") && lines.get(i).contains("LOG-END-OFFSET"))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no header line in " + describe));
        List<String> columns = List.of(lines.get(header).trim().split("\\s+"));
        Map<Integer, Map<String, String>> rows = new TreeMap<>();
        for (String line : lines.subList(header + 1, lines.size())) {
            String[] cells = line.trim().split("\\s+");
            if (cells.length < 6 || !cells[1].equals(topic)) {
                continue;
            }
            Map<String, String> row = new TreeMap<>();
            for (int i = 0; i < Math.min(cells.length, columns.size()); i++) {
                row.put(columns.get(i), cells[i]);
            }
            rows.put(Integer.parseInt(row.get("PARTITION")), row);
        }
        return rows;
    }
}
