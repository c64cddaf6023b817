package io.tributary.node.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.KafkaConsumer;

/**
 * A KIP-848 consumer ({@code group.protocol=consumer}, kafka-clients) in a JVM of its own, so a test can kill it
 * with SIGKILL ({@link #kill}): it never leaves the group, and its partitions come back only when the coordinator
 * ends its session. It subscribes to one topic and polls until killed; output to {@code <workDir>/<name>.log}.
 * Runs {@link #main} on the test classpath (surefire's {@code surefire.test.class.path}).
 */
final class KafkaConsumerProcess implements AutoCloseable {

    private final Process process;
    private final Path log;

    private KafkaConsumerProcess(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    static KafkaConsumerProcess start(String name, Path workDir, String bootstrap, String group, String topic) {
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx128m", NodeProcess.C1_ONLY,
                "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", classpath,
                KafkaConsumerProcess.class.getName(), bootstrap, group, topic));
        try {
            Files.createDirectories(workDir);
            Path log = workDir.resolve(name + ".log");
            Process process = new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
            return new KafkaConsumerProcess(process, log);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + command, e);
        }
    }

    /** SIGKILL: the consumer dies without a word to the group. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            throw new AssertionError("consumer process " + process.pid() + " did not die");
        }
    }

    String output() {
        try {
            return Files.readString(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(no output: " + e + ")";
        }
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            kill();
        }
    }

    /** args: bootstrap group topic. */
    public static void main(String[] args) {
        try (KafkaConsumer<String, String> consumer = ConsumerProtocolGroupIT.consumer(args[0], args[1], Map.of())) {
            consumer.subscribe(List.of(args[2]));
            while (true) {
                consumer.poll(Duration.ofMillis(200));
                System.out.println("assignment " + consumer.assignment());
            }
        }
    }
}
