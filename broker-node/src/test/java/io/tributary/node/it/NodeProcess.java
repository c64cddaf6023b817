package io.tributary.node.it;

import static org.awaitility.Awaitility.await;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.awaitility.core.ConditionTimeoutException;
import org.awaitility.core.TerminalFailureException;

/**
 * One Tributary node run as a child JVM ({@code io.tributary.node.TributaryNode <properties file>}), for
 * process-level integration tests.
 *
 * <p>Lifecycle: {@link #start} writes {@code node.properties} into the data directory, launches the JVM with its
 * stdout and stderr appended to {@code node.log} in the same directory, and returns once the client port accepts
 * TCP connections. {@link #kill()} (SIGKILL) and {@link #stop()} (SIGTERM, then wait) end the process;
 * {@link #restart()} starts it again on the same data directory, config and port. {@link #close()} kills whatever
 * is still running, so a test that fails half-way leaves nothing behind.
 *
 * <p>Nodes of a cluster cannot finish starting one at a time (a voter waits for a quorum): {@link #prepare} writes
 * the config without launching, {@link #spawn()} launches without waiting and {@link #awaitListening} waits, so
 * {@link ClusterProcesses} can launch every node before it waits for any.
 *
 * <p>Not thread-safe: drive one instance from the test thread. Processes are signalled only through their own
 * {@link Process} handle (their pid), never by name.
 */
final class NodeProcess implements AutoCloseable {
    static final Duration START_DEADLINE = Duration.ofSeconds(60);
    static final Duration STOP_DEADLINE = Duration.ofSeconds(30);
    private static final String MAIN_CLASS = "io.tributary.node.TributaryNode";
    private static final String HEAP = "-Xmx256m";

    private final int nodeId;
    private final Path dataDir;
    private final int port;
    private final Path configFile;
    private final Path logFile;
    private Process process;
    private Thread reaper;

    private NodeProcess(int nodeId, Path dataDir, int port) {
        this.nodeId = nodeId;
        this.dataDir = dataDir;
        this.port = port;
        this.configFile = dataDir.resolve("node.properties");
        this.logFile = dataDir.resolve("node.log");
    }

    /** Starts node {@code nodeId} with its data in {@code dataDir}; {@code overrides} win over the defaults. */
    static NodeProcess start(int nodeId, Path dataDir, Map<String, String> overrides) {
        NodeProcess node = prepare(nodeId, dataDir, freePort(), overrides);
        node.launch();
        return node;
    }

    /**
     * Writes the config of node {@code nodeId} (client port {@code port}, data in {@code dataDir}, which must exist)
     * without launching it; {@link #spawn()} or {@link #restart()} launches it.
     */
    static NodeProcess prepare(int nodeId, Path dataDir, int port, Map<String, String> overrides) {
        NodeProcess node = new NodeProcess(nodeId, dataDir, port);
        node.writeConfig(overrides);
        return node;
    }

    static NodeProcess start(Path dataDir) {
        return start(1, dataDir, Map.of());
    }

    int nodeId() {
        return nodeId;
    }

    int port() {
        return port;
    }

    String bootstrap() {
        return "127.0.0.1:" + port;
    }

    Path dataDir() {
        return dataDir;
    }

    Path logFile() {
        return logFile;
    }

    long pid() {
        requireStarted();
        return process.pid();
    }

    boolean isAlive() {
        return process != null && process.isAlive();
    }

    /** SIGKILL: the node gets no chance to flush or close anything. Returns once the process is gone. */
    void kill() {
        requireStarted();
        process.destroyForcibly(); // SIGKILL on Linux
        awaitExit();
    }

    /** SIGTERM, then wait for the shutdown hook to finish; SIGKILL and fail if it overruns the deadline. */
    void stop() {
        requireStarted();
        process.destroy(); // SIGTERM on Linux
        if (!waitFor(STOP_DEADLINE)) {
            process.destroyForcibly();
            awaitExit();
            throw new AssertionError("node " + nodeId + " did not exit within " + STOP_DEADLINE + " of SIGTERM");
        }
        removeReaper();
    }

    /** Starts the node again on the same data directory, config file and port; it must not be running. */
    void restart() {
        if (isAlive()) {
            throw new IllegalStateException("node " + nodeId + " is still running (pid " + process.pid() + ")");
        }
        launch();
    }

    /** Launches the JVM and returns at once; {@link #awaitListening} waits for the client port. */
    void spawn() {
        if (isAlive()) {
            throw new IllegalStateException("node " + nodeId + " is already running (pid " + process.pid() + ")");
        }
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add(HEAP);
        command.add("-cp");
        command.add(nodeClasspath());
        command.add(MAIN_CLASS);
        command.add(configFile.toString());
        ProcessBuilder builder = new ProcessBuilder(command)
                .directory(dataDir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot launch " + command, e);
        }
        installReaper();
    }

    /**
     * Waits until the client port of the {@link #spawn() spawned} node accepts connections, at most
     * {@code deadline}; a node that exits first or overruns is killed and reported with its log tail.
     */
    void awaitListening(Duration deadline) {
        requireStarted();
        Process launched = process;
        try {
            await("node " + nodeId + " accepting connections on " + bootstrap())
                    .atMost(deadline)
                    .pollInterval(Duration.ofMillis(100))
                    .failFast("node " + nodeId + " exited during start-up", () -> !launched.isAlive())
                    .until(() -> acceptsConnections(port));
        } catch (ConditionTimeoutException | TerminalFailureException e) {
            // Nobody holds a handle to a node whose start failed: end it here.
            launched.destroyForcibly();
            throw new AssertionError(e.getMessage() + "\n--- tail of " + logFile + " ---\n" + logTail(60), e);
        }
    }

    /** The size of the log so far: pass it to {@link #logSince} to read only what the node writes from now on. */
    long logSize() {
        try {
            return Files.exists(logFile) ? Files.size(logFile) : 0;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The log from byte {@code offset} (a {@link #logSize()} taken earlier) to its current end. */
    String logSince(long offset) {
        try {
            byte[] all = Files.exists(logFile) ? Files.readAllBytes(logFile) : new byte[0];
            int from = (int) Math.min(offset, all.length);
            return new String(all, from, all.length - from, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The last {@code lines} lines of the node's log, for failure reports. */
    String logTail(int lines) {
        try {
            if (!Files.exists(logFile)) {
                return "(no log at " + logFile + ")";
            }
            List<String> all = Files.readAllLines(logFile, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException | UncheckedIOException e) {
            return "(cannot read " + logFile + ": " + e + ")";
        }
    }

    @Override
    public void close() {
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            awaitExit();
        }
        removeReaper();
    }

    @Override
    public String toString() {
        return "node " + nodeId + " at " + bootstrap() + " (pid " + (process == null ? "-" : process.pid())
                + ", data " + dataDir + ")";
    }

    private void writeConfig(Map<String, String> overrides) {
        Map<String, String> config = new LinkedHashMap<>();
        config.put("node.id", Integer.toString(nodeId));
        config.put("listeners", "PLAINTEXT://" + bootstrap());
        config.put("advertised.listeners", "PLAINTEXT://" + bootstrap());
        config.put("data.dir", dataDir.resolve("data").toString());
        config.put("num.partitions", "1");
        config.put("default.replication.factor", "1");
        config.putAll(overrides);
        Properties properties = new Properties();
        properties.putAll(config);
        try (Writer out = Files.newBufferedWriter(configFile, StandardCharsets.UTF_8)) {
            properties.store(out, "written by " + NodeProcess.class.getName());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void launch() {
        spawn();
        awaitListening(START_DEADLINE);
    }

    /**
     * Surefire and failsafe fork the test JVM with a manifest-only jar on {@code java.class.path}; the real test
     * classpath (this module's classes or jar, its dependencies and the reactor modules) is in
     * {@code surefire.test.class.path}.
     */
    static String nodeClasspath() {
        String classpath = System.getProperty("surefire.test.class.path");
        if (classpath == null || classpath.isBlank()) {
            classpath = System.getProperty("java.class.path");
        }
        return classpath;
    }

    static boolean acceptsConnections(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 1_000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** A port that was free a moment ago; good enough on a test machine, where nothing else races for it. */
    static int freePort() {
        return freePorts(1).get(0);
    }

    /** {@code count} distinct ports that were free a moment ago (all held open together, so none repeats). */
    static List<Integer> freePorts(int count) {
        List<ServerSocket> sockets = new ArrayList<>();
        try {
            for (int i = 0; i < count; i++) {
                ServerSocket socket = new ServerSocket(0);
                socket.setReuseAddress(true);
                sockets.add(socket);
            }
            return sockets.stream().map(ServerSocket::getLocalPort).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            for (ServerSocket socket : sockets) {
                try {
                    socket.close();
                } catch (IOException ignored) {
                    // Closing a socket nobody connected to: nothing can go wrong that matters here.
                }
            }
        }
    }

    private boolean waitFor(Duration deadline) {
        try {
            return process.waitFor(deadline.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while waiting for node " + nodeId + " to exit", e);
        }
    }

    private void awaitExit() {
        if (!waitFor(STOP_DEADLINE)) {
            throw new AssertionError("node " + nodeId + " (pid " + process.pid() + ") survived SIGKILL");
        }
    }

    private void requireStarted() {
        if (process == null) {
            throw new IllegalStateException("node " + nodeId + " was never started");
        }
    }

    /** If the test JVM itself is torn down (forked-process timeout, Ctrl-C), take the node with it. */
    private void installReaper() {
        removeReaper();
        Process owned = process;
        reaper = new Thread(owned::destroyForcibly, "reap-node-" + nodeId);
        Runtime.getRuntime().addShutdownHook(reaper);
    }

    private void removeReaper() {
        if (reaper != null) {
            try {
                Runtime.getRuntime().removeShutdownHook(reaper);
            } catch (IllegalStateException shuttingDown) {
                // The JVM is exiting and the hook is running or about to: nothing left to remove.
            }
            reaper = null;
        }
    }
}
