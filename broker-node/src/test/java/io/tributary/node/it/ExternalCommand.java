package io.tributary.node.it;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a command-line tool (kcat) to completion with a deadline. Output goes through files in {@code workDir}
 * rather than pipes, so a chatty tool can never block on a full pipe while we wait for it.
 */
final class ExternalCommand {
    private ExternalCommand() {}

    record Result(List<String> command, int exitCode, String stdout, String stderr) {
        List<String> stdoutLines() {
            return stdout.lines().filter(line -> !line.isEmpty()).toList();
        }

        @Override
        public String toString() {
            return String.join(" ", command) + " -> exit " + exitCode + "\n--- stdout ---\n" + stdout
                    + "\n--- stderr ---\n" + stderr;
        }
    }

    /**
     * Runs one of Kafka's command-line tools ({@code mainClass} of kafka-tools, e.g.
     * {@code org.apache.kafka.tools.LeaderElectionCommand} for {@code kafka-leader-election.sh}) in its own JVM, from
     * the jars the build's copy-kafka-tools execution puts in {@code target/kafka-tools}, with
     * {@code --bootstrap-server bootstrap} and then {@code args}.
     */
    static Result kafkaTool(String mainClass, String bootstrap, Duration timeout, Path workDir, String... args) {
        Path jars = Path.of(System.getProperty("kafka.tools.dir", "target/kafka-tools")).toAbsolutePath();
        try (var files = Files.list(jars)) {
            if (files.noneMatch(f -> f.getFileName().toString().startsWith("kafka-tools-"))) {
                throw new AssertionError("no kafka-tools jar in " + jars + " (run through mvn verify)");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("no kafka-tools in " + jars + " (run through mvn verify)", e);
        }
        List<String> command = new java.util.ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx128m", NodeProcess.C1_ONLY,
                "-cp", jars + "/*", mainClass, "--bootstrap-server", bootstrap));
        command.addAll(List.of(args));
        return run(command, "", timeout, workDir);
    }

    /** True if {@code program} is an executable file in a directory of {@code PATH}. */
    static boolean onPath(String program) {
        String path = System.getenv().getOrDefault("PATH", "");
        for (String dir : path.split(java.io.File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return false;
    }

    /**
     * Runs {@code command}, feeds it {@code stdin} (then end of file) and waits at most {@code timeout}; a command
     * that overruns is SIGKILLed and reported as an {@link AssertionError}.
     */
    static Result run(List<String> command, String stdin, Duration timeout, Path workDir) {
        Process process = null;
        try {
            Path out = Files.createTempFile(workDir, "cmd-", ".out");
            Path err = Files.createTempFile(workDir, "cmd-", ".err");
            process = new ProcessBuilder(command)
                    .directory(workDir.toFile())
                    .redirectOutput(out.toFile())
                    .redirectError(err.toFile())
                    .start();
            try (OutputStream in = process.getOutputStream()) {
                in.write(stdin.getBytes(StandardCharsets.UTF_8));
            }
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new AssertionError("timed out after " + timeout + ": " + String.join(" ", command)
                        + "\n--- stdout ---\n" + Files.readString(out) + "\n--- stderr ---\n" + Files.readString(err));
            }
            return new Result(command, process.exitValue(), Files.readString(out), Files.readString(err));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + command, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while running " + command, e);
        } finally {
            // Whatever happened above (timeout, interrupt by an Awaitility deadline), leave no tool running.
            if (process != null && process.isAlive()) {
                process.destroyForcibly();
            }
        }
    }
}
