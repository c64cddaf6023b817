package io.tributary.node.it;

import static org.awaitility.Awaitility.await;

import io.tributary.node.NodeConfig;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
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
 * <p>A node also listens for partition replication (followers fetching from leaders) on its own
 * {@link #replicationPort()}, written as {@code replication.listener}. {@link #pause()} and {@link #resume()} send
 * SIGSTOP and SIGCONT: a paused node keeps its sockets open but answers nothing, like a node in a long GC pause.
 * {@link #kill()} and {@link #close()} work on a paused node too (SIGKILL ends a stopped process).
 *
 * <p>Not thread-safe: drive one instance from the test thread. Processes are signalled only through their own
 * {@link Process} handle (their pid), never by name.
 */
final class NodeProcess implements AutoCloseable {
    static final Duration START_DEADLINE = Duration.ofSeconds(60);
    static final Duration STOP_DEADLINE = Duration.ofSeconds(30);
    private static final String MAIN_CLASS = "io.tributary.node.TributaryNode";
    private static final String HEAP = "-Xmx256m";
    /**
     * The nodes, clients and tools of an IT live for seconds to minutes: C2's compilations cost them more CPU than
     * its code saves (measured on two cores: five ITs 16% faster with C1 alone, LeaderFailoverIT 133 s -> 108 s).
     * Benchmarks and the reliability harness run nodes with the default JIT.
     */
    static final String C1_ONLY = "-XX:TieredStopAtLevel=1";
    /** The node config key of the replication listener, {@code host:port}. */
    static final String REPLICATION_LISTENER = "replication.listener";
    /** Where a partition's log lives under {@code data.dir}: {@code logs/<topic>-<partition>/}. */
    private static final String LOGS_DIR = "logs";
    private static final String SEGMENT_SUFFIX = ".log";
    private static final Duration SIGNAL_DEADLINE = Duration.ofSeconds(10);

    private final int nodeId;
    private final Path dataDir;
    private final int port;
    private final int replicationPort;
    private final Path configFile;
    private final Path logFile;
    private Path nodeDataDir;
    private Process process;
    private Thread reaper;
    private boolean paused;

    private NodeProcess(int nodeId, Path dataDir, int port, int replicationPort) {
        this.nodeId = nodeId;
        this.dataDir = dataDir;
        this.port = port;
        this.replicationPort = replicationPort;
        this.configFile = dataDir.resolve("node.properties");
        this.logFile = dataDir.resolve("node.log");
    }

    /** Starts node {@code nodeId} with its data in {@code dataDir}; {@code overrides} win over the defaults. */
    static NodeProcess start(int nodeId, Path dataDir, Map<String, String> overrides) {
        List<Integer> ports = freePorts(2);
        NodeProcess node = prepare(nodeId, dataDir, ports.get(0), ports.get(1), overrides);
        node.launch();
        return node;
    }

    /**
     * Writes the config of node {@code nodeId} (client port {@code port}, data in {@code dataDir}, which must exist)
     * without launching it; {@link #spawn()} or {@link #restart()} launches it. The replication listener is left to
     * the node's default (client port + 200).
     */
    static NodeProcess prepare(int nodeId, Path dataDir, int port, Map<String, String> overrides) {
        return prepare(nodeId, dataDir, port, 0, overrides);
    }

    /**
     * Like {@link #prepare(int, Path, int, Map)}, with the replication listener on {@code replicationPort} (0: the
     * node's default). Restarts keep both ports.
     */
    static NodeProcess prepare(int nodeId, Path dataDir, int port, int replicationPort,
            Map<String, String> overrides) {
        NodeProcess node = new NodeProcess(nodeId, dataDir, port, replicationPort);
        node.writeConfig(overrides);
        return node;
    }

    /**
     * Whether the node under test reads {@code replication.listener}. A node refuses unknown config keys, so the
     * harness writes the key only once the node knows it; this keeps the harness usable on both sides of the change
     * that introduces replication.
     */
    static boolean supportsReplicationListener() {
        return NodeConfig.DEFAULTS.containsKey(REPLICATION_LISTENER);
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

    /** The port partition replication listens on: the one configured, else the node's default (port + 200). */
    int replicationPort() {
        return replicationPort > 0 ? replicationPort : port + 200;
    }

    /** The node's {@code data.dir} (under {@link #dataDir()} unless a test overrode it). */
    Path nodeDataDir() {
        return nodeDataDir;
    }

    /** The directory of one partition's log on this node: {@code <data.dir>/logs/<topic>-<partition>/}. */
    Path partitionDir(String topic, int partition) {
        return nodeDataDir.resolve(LOGS_DIR).resolve(topic + "-" + partition);
    }

    /**
     * The {@code .log} segment files of one partition on this node, in name (that is, base offset) order; empty if
     * the node has no log for it.
     */
    List<Path> segmentFiles(String topic, int partition) {
        Path dir = partitionDir(topic, partition);
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(file -> file.getFileName().toString().endsWith(SEGMENT_SUFFIX)).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
    }

    /**
     * The stored bytes of one partition on this node: its {@code .log} segments concatenated in base offset order.
     * Read while the node runs, the result is a snapshot that may end inside a batch being written; callers compare
     * such snapshots inside an await.
     */
    byte[] partitionLogBytes(String topic, int partition) {
        try (var out = new ByteArrayOutputStream()) {
            for (Path segment : segmentFiles(topic, partition)) {
                try {
                    out.write(Files.readAllBytes(segment));
                } catch (NoSuchFileException deletedMeanwhile) {
                    // Retention or truncation removed it between the listing and the read: a snapshot of a
                    // moving log, which the caller's await takes again.
                    throw new UncheckedIOException("segment vanished while reading: " + segment, deletedMeanwhile);
                }
            }
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the log of " + topic + "-" + partition + " on node " + nodeId,
                    e);
        }
    }

    /** The total size of one partition's {@code .log} segments on this node. */
    long partitionLogSize(String topic, int partition) {
        long size = 0;
        for (Path segment : segmentFiles(topic, partition)) {
            try {
                size += Files.size(segment);
            } catch (NoSuchFileException deletedMeanwhile) {
                // Removed since the listing: it no longer counts.
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return size;
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

    /** Whether the node was {@link #pause() paused} and not resumed since (nor killed). */
    boolean isPaused() {
        return paused && isAlive();
    }

    /**
     * SIGSTOP: the process stops where it is, holding its sockets and files, and answers nothing until
     * {@link #resume()}. Peers see a node that went silent without closing anything.
     */
    void pause() {
        requireStarted();
        if (!process.isAlive()) {
            throw new IllegalStateException("node " + nodeId + " is not running");
        }
        signal("STOP");
        paused = true;
    }

    /** SIGCONT: a {@link #pause() paused} node carries on; does nothing to a node that is not paused. */
    void resume() {
        if (paused && isAlive()) {
            signal("CONT");
        }
        paused = false;
    }

    /** Waits for the spawned process to exit by itself; its exit code, or empty if it still runs at the deadline. */
    java.util.OptionalInt awaitExitCode(Duration deadline) {
        requireStarted();
        if (!waitFor(deadline)) {
            return java.util.OptionalInt.empty();
        }
        removeReaper();
        return java.util.OptionalInt.of(process.exitValue());
    }

    /** SIGKILL: the node gets no chance to flush or close anything. Returns once the process is gone. */
    void kill() {
        requireStarted();
        process.destroyForcibly(); // SIGKILL on Linux; it ends a SIGSTOPped process too
        awaitExit();
        paused = false;
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
        command.add(C1_ONLY);
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
            process.destroyForcibly(); // SIGKILL ends a paused (SIGSTOPped) node as well
            awaitExit();
        }
        paused = false;
        removeReaper();
    }

    @Override
    public String toString() {
        return "node " + nodeId + " at " + bootstrap() + " (pid " + (process == null ? "-" : process.pid())
                + (isPaused() ? ", paused" : "") + ", data " + dataDir + ")";
    }

    private void writeConfig(Map<String, String> overrides) {
        Map<String, String> config = new LinkedHashMap<>();
        config.put("node.id", Integer.toString(nodeId));
        config.put("listeners", "PLAINTEXT://" + bootstrap());
        config.put("advertised.listeners", "PLAINTEXT://" + bootstrap());
        config.put("data.dir", dataDir.resolve("data").toString());
        config.put("num.partitions", "1");
        config.put("default.replication.factor", "1");
        if (replicationPort > 0 && supportsReplicationListener()) {
            config.put(REPLICATION_LISTENER, "127.0.0.1:" + replicationPort);
        }
        config.putAll(overrides);
        nodeDataDir = Path.of(config.get("data.dir"));
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

    /** Sends {@code SIG<name>} to this node's pid with {@code kill(1)}; never by name. */
    private void signal(String name) {
        long pid = process.pid();
        try {
            Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(pid))
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            if (!kill.waitFor(SIGNAL_DEADLINE.toMillis(), TimeUnit.MILLISECONDS)) {
                kill.destroyForcibly();
                throw new AssertionError("kill -" + name + " " + pid + " did not finish within " + SIGNAL_DEADLINE);
            }
            if (kill.exitValue() != 0) {
                throw new AssertionError("kill -" + name + " " + pid + " (node " + nodeId + ") exited with "
                        + kill.exitValue());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run kill -" + name + " " + pid, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while signalling node " + nodeId, e);
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
