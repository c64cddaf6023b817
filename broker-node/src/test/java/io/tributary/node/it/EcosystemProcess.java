package io.tributary.node.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One of Kafka's own tools (a Kafka Streams app, a Connect worker, MirrorMaker 2) running in a JVM of its own, on the
 * classpath the {@code ecosystem} module copies to {@code ecosystem/target/lib} ({@code ecosystem.dir}): Kafka's jars
 * from Maven Central at their own release, never on the node's classpath. Output goes to a log file (never a pipe that
 * could fill). Stopped by its PID: {@link #stop} sends SIGTERM and waits for a clean exit, {@link #close} kills
 * whatever is still running.
 */
final class EcosystemProcess implements AutoCloseable {
    static final Duration STOP_DEADLINE = Duration.ofSeconds(60);
    private static final int LOG_TAIL_LINES = 60;

    private final String name;
    private final Process process;
    private final Path log;

    private EcosystemProcess(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
    }

    /** Starts {@code mainClass args} with a small heap; its output goes to {@code <workDir>/<name>.log}. */
    static EcosystemProcess start(String name, Path workDir, String mainClass, String... args) {
        Path dir = Path.of(System.getProperty("ecosystem.dir", "../ecosystem/target")).toAbsolutePath();
        Path lib = dir.resolve("lib");
        if (!Files.isDirectory(lib)) {
            throw new IllegalStateException(lib + " is missing: build the ecosystem module first (mvn install)");
        }
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", lib.resolve("*") + java.io.File.pathSeparator + dir.resolve("classes"),
                mainClass));
        command.addAll(List.of(args));
        try {
            Files.createDirectories(workDir);
            Path log = workDir.resolve(name + ".log");
            Process process = new ProcessBuilder(command).directory(workDir.toFile())
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            return new EcosystemProcess(name, process, log);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + command, e);
        }
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** The whole output so far. */
    String output() {
        try {
            return Files.readString(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The last lines of its output, for failure messages. */
    String outputTail() {
        List<String> lines = output().lines().toList();
        return "--- last lines of " + name + " (" + log + ") ---\n"
                + String.join("\n", lines.subList(Math.max(0, lines.size() - LOG_TAIL_LINES), lines.size()));
    }

    /** SIGTERM, then waits for the process to exit on its own (shutdown hooks run: Streams commits, Connect stops). */
    void stop() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(STOP_DEADLINE.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            throw new AssertionError(name + " did not stop within " + STOP_DEADLINE + "\n" + outputTail());
        }
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
            try {
                process.waitFor(STOP_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public String toString() {
        return name + " (pid " + process.pid() + ")";
    }
}
