package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The operator's path through {@code deploy/cluster.sh}, run as a script: {@code up} prints the bootstrap servers
 * and metrics URLs; Kafka's console producer and consumer (separate JVMs from the jars the build copies to
 * {@code target/kafka-tools}) work against the cluster; {@code kill 2} makes {@code status} show new leaders, node 2
 * gone from every ISR and under-replicated partitions; {@code start 2} makes {@code status} show full ISRs again.
 * {@code down} always runs at the end, and no node the script started may outlive it.
 *
 * <p>The cluster runs in its own data dir under {@code target/} and on a base port whose whole range (client,
 * Ratis, replication and HTTP ports of three nodes) was free. {@code status} reads partitions through kcat: skipped
 * where kcat is missing, except under {@code CI=true} ({@code .ci/run} installs it).
 */
class ClusterScriptIT {
    private static final int NODES = 3;
    private static final int PARTITIONS = 3;
    private static final int RECORDS = 20;
    private static final int[] PORT_OFFSETS = {0, 100, 200, 300};
    /** {@code up} waits up to 90 s for the nodes (plus a build that never happens here: the jar exists). */
    private static final Duration SCRIPT_DEADLINE = Duration.ofSeconds(180);
    private static final Duration TOOL_DEADLINE = Duration.ofSeconds(90);
    /** Fencing after broker.session.timeout.ms (3 s) and a restart's catch-up, with room for a slow machine. */
    private static final Duration STATE_DEADLINE = Duration.ofSeconds(90);
    private static final boolean IN_CI = "true".equals(System.getenv("CI"));
    private static final Pattern SUMMARY =
            Pattern.compile("(?m)^partitions: (\\d+), under-replicated: (\\d+), offline: (\\d+)$");

    @TempDir
    Path workDir;

    private Path script;
    private Path dataDir;
    private int basePort;

    @Test
    void upProducesConsumesSurvivesAKillAndHealsAfterAStart() throws IOException {
        if (!IN_CI) {
            Assumptions.assumeTrue(ExternalCommand.onPath("kcat"), "kcat is not on PATH (install it: apt-get install kcat)");
        }
        assertThat(ExternalCommand.onPath("kcat")).as("kcat on PATH in CI (.ci/run installs it)").isTrue();
        script = Path.of("").toAbsolutePath().getParent().resolve("deploy").resolve("cluster.sh");
        assertThat(script).as("the script under test").isRegularFile();
        dataDir = Path.of("target").toAbsolutePath().resolve("cluster-script-it-" + UUID.randomUUID());
        basePort = freeBasePort();
        try {
            // When: up 3
            ExternalCommand.Result up = script(SCRIPT_DEADLINE, "up", "3");

            // Then: it printed the bootstrap servers and one metrics URL per node, on the chosen ports
            assertThat(up.exitCode()).as("%s", up).isZero();
            String bootstrap = IntStream.range(0, NODES).mapToObj(i -> "127.0.0.1:" + (basePort + i))
                    .reduce((a, b) -> a + "," + b).orElseThrow();
            assertThat(up.stdoutLines()).as("%s", up).contains("bootstrap.servers=" + bootstrap);
            String metrics = IntStream.range(0, NODES)
                    .mapToObj(i -> "http://127.0.0.1:" + (basePort + 300 + i) + "/metrics")
                    .reduce((a, b) -> a + "," + b).orElseThrow();
            assertThat(up.stdoutLines()).as("%s", up).contains("metrics.urls=" + metrics);

            // And: Kafka's console producer and consumer work against that bootstrap string
            String topic = "script-" + UUID.randomUUID().toString().substring(0, 8);
            Clients.createTopic(bootstrap, topic, PARTITIONS, NODES);
            List<String> values = IntStream.range(0, RECORDS).mapToObj(i -> "value-" + i).toList();
            ExternalCommand.Result produced = kafkaTool(List.of("org.apache.kafka.tools.ConsoleProducer",
                    "--bootstrap-server", bootstrap, "--topic", topic, "--producer-property", "acks=all"),
                    String.join("\n", values) + "\n");
            assertThat(produced.exitCode()).as("%s", produced).isZero();
            ExternalCommand.Result consumed = kafkaTool(List.of("org.apache.kafka.tools.consumer.ConsoleConsumer",
                    "--bootstrap-server", bootstrap, "--topic", topic, "--from-beginning",
                    "--max-messages", Integer.toString(RECORDS), "--timeout-ms", "60000"), "");
            assertThat(consumed.exitCode()).as("%s", consumed).isZero();
            assertThat(consumed.stdoutLines()).as("%s", consumed).containsExactlyInAnyOrderElementsOf(values);

            Status before = status();
            assertThat(before.partitions(topic)).as("%s", before.text()).hasSize(PARTITIONS)
                    .allSatisfy(p -> assertThat(p.isr()).containsExactlyInAnyOrder(1, 2, 3));
            List<Integer> ledByTwo = before.partitions(topic).stream().filter(p -> p.leader() == 2)
                    .map(Partition::partition).toList();

            // When: kill 2
            ExternalCommand.Result killed = script(TOOL_DEADLINE, "kill", "2");
            assertThat(killed.exitCode()).as("%s", killed).isZero();

            // Then: status shows node 2 dead, gone from every ISR, the partitions it led led by others, and
            // under-replicated partitions, none offline
            await("status after kill 2 shows new leaders and node 2 out of every ISR").atMost(STATE_DEADLINE)
                    .pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
                        Status status = status();
                        assertThat(status.nodeState(2)).as("%s", status.text()).isEqualTo("dead");
                        assertThat(status.partitions(topic)).as("%s", status.text()).hasSize(PARTITIONS)
                                .allSatisfy(p -> {
                                    assertThat(p.leader()).isIn(1, 3);
                                    assertThat(p.replicas()).containsExactlyInAnyOrder(1, 2, 3);
                                    assertThat(p.isr()).doesNotContain(2).isNotEmpty();
                                });
                        assertThat(status.underReplicated()).as("%s", status.text()).isGreaterThan(0);
                        assertThat(status.offline()).as("%s", status.text()).isZero();
                    });
            if (!ledByTwo.isEmpty()) {
                assertThat(status().partitions(topic)).filteredOn(p -> ledByTwo.contains(p.partition()))
                        .allSatisfy(p -> assertThat(p.leader()).isNotEqualTo(2));
            }

            // When: start 2
            ExternalCommand.Result started = script(SCRIPT_DEADLINE, "start", "2");
            assertThat(started.exitCode()).as("%s", started).isZero();

            // Then: status shows node 2 alive and registered and every ISR full again
            await("status after start 2 shows full ISRs").atMost(STATE_DEADLINE)
                    .pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
                        Status status = status();
                        assertThat(status.nodeState(2)).as("%s", status.text()).isEqualTo("alive");
                        assertThat(status.nodeRegistered(2)).as("%s", status.text()).isEqualTo("yes");
                        assertThat(status.partitions(topic)).as("%s", status.text()).hasSize(PARTITIONS)
                                .allSatisfy(p -> assertThat(p.isr()).containsExactlyInAnyOrder(1, 2, 3));
                        assertThat(status.underReplicated()).as("%s", status.text()).isZero();
                        assertThat(status.offline()).as("%s", status.text()).isZero();
                    });
        } finally {
            downAndCheckNothingIsLeft();
        }
    }

    /**
     * Issue 11: {@code up --secure} makes a cluster with a SASL_SSL (SCRAM-SHA-512) listener, ACLs and mutual TLS
     * between nodes, and prints a {@code client.config} that Kafka's own tools use as is; without it a client gets
     * nowhere.
     */
    @Test
    void upSecurePrintsAClientConfigThatKafkasToolsUseAsIs() throws IOException {
        script = Path.of("").toAbsolutePath().getParent().resolve("deploy").resolve("cluster.sh");
        dataDir = Path.of("target").toAbsolutePath().resolve("cluster-script-it-" + UUID.randomUUID());
        basePort = freeBasePort();
        try {
            ExternalCommand.Result up = script(SCRIPT_DEADLINE, "up", "--secure", "3");
            assertThat(up.exitCode()).as("%s", up).isZero();
            String clientConfig = up.stdoutLines().stream().filter(l -> l.startsWith("client.config="))
                    .map(l -> l.substring("client.config=".length())).findFirst().orElseThrow(
                            () -> new AssertionError("no client.config= line in " + up));
            assertThat(Path.of(clientConfig)).isRegularFile();
            String bootstrap = IntStream.range(0, NODES).mapToObj(i -> "127.0.0.1:" + (basePort + i))
                    .reduce((a, b) -> a + "," + b).orElseThrow();
            String topic = "secure-" + UUID.randomUUID().toString().substring(0, 8);

            // kafka-topics --command-config and kafka-console-producer --producer.config use it as is
            ExternalCommand.Result created = kafkaTool(List.of("org.apache.kafka.tools.TopicCommand",
                    "--bootstrap-server", bootstrap, "--command-config", clientConfig, "--create", "--topic", topic,
                    "--partitions", "1", "--replication-factor", "3"), "");
            assertThat(created.exitCode()).as("%s", created).isZero();
            List<String> values = IntStream.range(0, RECORDS).mapToObj(i -> "secret-" + i).toList();
            ExternalCommand.Result produced = kafkaTool(List.of("org.apache.kafka.tools.ConsoleProducer",
                    "--bootstrap-server", bootstrap, "--topic", topic, "--producer.config", clientConfig),
                    String.join("\n", values) + "\n");
            assertThat(produced.exitCode()).as("%s", produced).isZero();
            ExternalCommand.Result consumed = kafkaTool(List.of("org.apache.kafka.tools.consumer.ConsoleConsumer",
                    "--bootstrap-server", bootstrap, "--topic", topic, "--from-beginning", "--command-config",
                    clientConfig, "--max-messages", Integer.toString(RECORDS), "--timeout-ms", "60000"), "");
            assertThat(consumed.exitCode()).as("%s", consumed).isZero();
            assertThat(consumed.stdoutLines()).as("%s", consumed).containsExactlyElementsOf(values);

            // Without the config (plaintext), the same tool gets no answer from the TLS port
            ExternalCommand.Result plaintext = kafkaTool(List.of("org.apache.kafka.tools.TopicCommand",
                    "--bootstrap-server", bootstrap, "--list", "--command-config", writePlaintextConfig()), "");
            assertThat(plaintext.exitCode()).as("%s", plaintext).isNotZero();
        } finally {
            downAndCheckNothingIsLeft();
        }
    }

    /**
     * Issue 12: {@code up 3} on a data dir that holds a one-node cluster stops with one line saying what to do
     * (instead of a stack trace per node), and {@code wipe} clears the dir so that {@code up 3} may start afresh.
     */
    @Test
    void upRefusesADataDirOfAnotherShapeInOneLineAndWipeClearsIt() throws IOException {
        script = Path.of("").toAbsolutePath().getParent().resolve("deploy").resolve("cluster.sh");
        dataDir = Path.of("target").toAbsolutePath().resolve("cluster-script-it-" + UUID.randomUUID());
        basePort = freeBasePort();
        // a stopped one-node cluster, as 'up 1' and 'down' leave it (made before shapes were recorded: no file)
        Files.createDirectories(dataDir.resolve("node-1").resolve("data"));

        ExternalCommand.Result refused = script(TOOL_DEADLINE, "up", "3");
        assertThat(refused.exitCode()).as("%s", refused).isNotZero();
        assertThat(refused.stderr().lines().filter(l -> !l.isBlank()).toList()).as("%s", refused)
                .singleElement().asString().contains("1 nodes").contains("wipe").doesNotContain("Exception");

        ExternalCommand.Result wiped = script(TOOL_DEADLINE, "wipe");
        assertThat(wiped.exitCode()).as("%s", wiped).isZero();
        assertThat(dataDir.resolve("node-1")).doesNotExist();
    }

    /** A client config that gives up quickly, for the plaintext attempt. */
    private String writePlaintextConfig() throws IOException {
        Path config = workDir.resolve("plaintext.config");
        java.nio.file.Files.writeString(config, "default.api.timeout.ms=10000\nrequest.timeout.ms=5000\n");
        return config.toString();
    }

    /** Runs {@code cluster.sh} with this test's data dir and base port in its environment. */
    private ExternalCommand.Result script(Duration deadline, String... args) {
        List<String> command = new ArrayList<>(List.of("env",
                "TRIBUTARY_DATA_DIR=" + dataDir, "TRIBUTARY_PORT=" + basePort,
                "TRIBUTARY_HEAP=-Xmx384m " + NodeProcess.C1_ONLY,
                "bash", script.toString()));
        command.addAll(List.of(args));
        return ExternalCommand.run(command, "", deadline, workDir);
    }

    private Status status() {
        ExternalCommand.Result status = script(TOOL_DEADLINE, "status");
        assertThat(status.exitCode()).as("%s", status).isZero();
        return Status.parse(status.stdout());
    }

    /** Runs one of Kafka's command-line tools in its own JVM from the jars in {@code kafka.tools.dir}. */
    private ExternalCommand.Result kafkaTool(List<String> mainAndArgs, String stdin) {
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
                "-cp", jars + "/*"));
        command.addAll(mainAndArgs);
        return ExternalCommand.run(command, stdin, TOOL_DEADLINE, workDir);
    }

    /**
     * {@code down}, then checks that no pid the script's pid files named (read before {@code down} removes them)
     * is still a running TributaryNode; one that is gets SIGKILLed here, so that a failing test leaks nothing.
     */
    private void downAndCheckNothingIsLeft() throws IOException {
        if (dataDir == null || !Files.isDirectory(dataDir)) {
            return;
        }
        List<Long> pids = new ArrayList<>();
        try (var nodes = Files.list(dataDir)) {
            for (Path node : nodes.toList()) {
                Path pidFile = node.resolve("node.pid");
                if (Files.isRegularFile(pidFile)) {
                    pids.add(Long.parseLong(Files.readString(pidFile).trim()));
                }
            }
        }
        ExternalCommand.Result down = script(SCRIPT_DEADLINE, "down");
        List<Long> left = pids.stream().filter(pid -> tributaryNode(pid).isPresent()).toList();
        left.forEach(pid -> tributaryNode(pid).ifPresent(ProcessHandle::destroyForcibly));
        assertThat(down.exitCode()).as("%s", down).isZero();
        assertThat(left).as("nodes still running after down (pids from the pid files)").isEmpty();
        try (var nodes = Files.list(dataDir)) {
            assertThat(nodes.map(node -> node.resolve("node.pid"))).as("pid files after down")
                    .noneMatch(Files::exists);
        }
    }

    /** The process {@code pid} if it is alive and a TributaryNode (never signal a recycled pid). */
    private static Optional<ProcessHandle> tributaryNode(long pid) {
        return ProcessHandle.of(pid).filter(ProcessHandle::isAlive).filter(handle -> {
            try {
                return Files.readString(Path.of("/proc", Long.toString(pid), "cmdline"))
                        .contains("io.tributary.node.TributaryNode");
            } catch (IOException e) {
                return false;
            }
        });
    }

    /** A base port P, chosen at random, such that every port the script gives 3 nodes (P + offset + i) is free. */
    private static int freeBasePort() {
        for (int attempt = 0; attempt < 50; attempt++) {
            int base = ThreadLocalRandom.current().nextInt(20_000, 40_000);
            boolean free = true;
            for (int offset : PORT_OFFSETS) {
                for (int i = 0; i < NODES && free; i++) {
                    free = portFree(base + offset + i);
                }
            }
            if (free) {
                return base;
            }
        }
        throw new AssertionError("no free base port found in 50 attempts");
    }

    private static boolean portFree(int port) {
        try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    record Partition(String topic, int partition, int leader, List<Integer> replicas, List<Integer> isr) {}

    /** What {@code cluster.sh status} printed: node rows, partition rows and the summary line. */
    record Status(String text, Map<Integer, String[]> nodes, List<Partition> partitions, int underReplicated,
                  int offline) {

        static Status parse(String text) {
            Map<Integer, String[]> nodes = new TreeMap<>();
            List<Partition> partitions = new ArrayList<>();
            boolean inPartitions = false;
            for (String line : text.lines().toList()) {
                String[] cells = line.trim().split("\\s+");
                if (line.startsWith("TOPIC ")) {
                    inPartitions = true;
                } else if (!inPartitions && cells.length >= 4 && cells[0].matches("\\d+")) {
                    nodes.put(Integer.parseInt(cells[0]), cells);
                } else if (inPartitions && cells.length >= 5 && cells[1].matches("\\d+")) {
                    partitions.add(new Partition(cells[0], Integer.parseInt(cells[1]), Integer.parseInt(cells[2]),
                            ids(cells[3]), ids(cells[4])));
                }
            }
            Matcher summary = SUMMARY.matcher(text);
            if (!summary.find()) {
                throw new AssertionError("no summary line in status output:\n" + text);
            }
            return new Status(text, nodes, partitions, Integer.parseInt(summary.group(2)),
                    Integer.parseInt(summary.group(3)));
        }

        private static List<Integer> ids(String list) {
            return list.isEmpty() || list.equals("-") ? List.of()
                    : java.util.Arrays.stream(list.split(",")).filter(s -> !s.isEmpty()).map(Integer::valueOf).toList();
        }

        List<Partition> partitions(String topic) {
            return partitions.stream().filter(p -> p.topic().equals(topic)).toList();
        }

        /** alive or dead (the STATE column). */
        String nodeState(int id) {
            String[] cells = nodes.get(id);
            return cells == null ? "missing" : cells[2];
        }

        /** yes, no or ? (the REGISTERED column). */
        String nodeRegistered(int id) {
            String[] cells = nodes.get(id);
            return cells == null ? "missing" : cells[3];
        }
    }
}
