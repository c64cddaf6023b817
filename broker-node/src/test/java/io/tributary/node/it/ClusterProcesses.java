package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tributary.node.it.KafkaRequests.ClusterView;
import io.tributary.node.it.KafkaRequests.MetadataView;
import io.tributary.node.it.KafkaRequests.PartitionState;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterTestExecutionCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A cluster of {@link NodeProcess}es shared by the tests of one class: nodes {@code 1..n}, of which {@code 1..v}
 * are voters of the metadata quorum ({@code controller.quorum.voters}), every port picked up front.
 *
 * <p>Register as a static field: {@code @RegisterExtension static final ClusterProcesses cluster =
 * new ClusterProcesses(3, 3);}. Before the first test it launches every node at once (a voter cannot finish
 * starting without a quorum) and waits until each listens and all agree on an active controller and the live
 * brokers. When a test fails it prints every node's log tail to stderr (failsafe keeps it in the report); after
 * the last test it kills every node and deletes the data, unless something failed: then the data and full logs
 * stay where the printed path says.
 *
 * <p>Tests that kill nodes should call {@link #restartDeadNodes()} and {@link #awaitHealthy()} in
 * {@code @BeforeEach}, so that each test starts from a whole cluster whatever ran before it. Nodes a test
 * {@link #pause paused} (SIGSTOP) are resumed after every test, passed or failed, and killed with the rest after
 * the last one.
 *
 * <p>Every node gets its own free port for partition replication ({@code replication.listener}), kept across
 * restarts. By default the harness shortens the broker session timeout and heartbeat
 * ({@link #SESSION_TIMEOUT}, {@link #HEARTBEAT_INTERVAL}) so that fencing tests run fast;
 * {@link #atDefaultTimeouts} leaves the node's defaults, for tests whose claim is about them.
 */
final class ClusterProcesses implements BeforeAllCallback, AfterAllCallback, AfterTestExecutionCallback {
    static final Duration START_DEADLINE = Duration.ofSeconds(90);
    /** How long a whole cluster may take to agree on a controller and its live brokers. */
    static final Duration HEALTH_DEADLINE = Duration.ofSeconds(60);
    static final Duration SESSION_TIMEOUT = Duration.ofMillis(2_000);
    static final Duration HEARTBEAT_INTERVAL = Duration.ofMillis(250);
    private static final int LOG_TAIL_LINES = 80;

    private final int nodeCount;
    private final int voterCount;
    private final Map<String, String> overrides;
    private final boolean shortTimeouts;
    private final Map<Integer, NodeProcess> nodes = new TreeMap<>();
    /** Nodes this harness has not been told to kill: one of them dead means it crashed. */
    private final Set<Integer> expectedAlive = new TreeSet<>();
    /** Node id -> port of its HTTP endpoint ({@code metrics.listener}: /metrics, /health), kept across restarts. */
    private final Map<Integer, Integer> metricsPorts = new TreeMap<>();
    /** Overrides of one node, given its id, its client port and a free port reserved for it (a second listener). */
    @FunctionalInterface
    interface PerNode {
        Map<String, String> overrides(int id, int clientPort, int extraPort);
    }

    private PerNode perNode = (id, clientPort, extraPort) -> Map.of();
    private final Map<Integer, Integer> extraPorts = new TreeMap<>();
    private Path root;
    private String voters;
    private boolean failed;

    ClusterProcesses(int nodeCount, int voterCount) {
        this(nodeCount, voterCount, Map.of());
    }

    /** {@code overrides} win over the harness' defaults (short session timeout, voters, ports, data dirs). */
    ClusterProcesses(int nodeCount, int voterCount, Map<String, String> overrides) {
        this(nodeCount, voterCount, overrides, true);
    }

    /**
     * A cluster whose nodes keep their own {@code broker.session.timeout.ms} and
     * {@code broker.heartbeat.interval.ms} (unless {@code overrides} set them); {@code overrides} win over the
     * harness' other defaults.
     */
    static ClusterProcesses atDefaultTimeouts(int nodeCount, int voterCount, Map<String, String> overrides) {
        return new ClusterProcesses(nodeCount, voterCount, overrides, false);
    }

    private ClusterProcesses(int nodeCount, int voterCount, Map<String, String> overrides, boolean shortTimeouts) {
        if (voterCount < 1 || voterCount > nodeCount) {
            throw new IllegalArgumentException(voterCount + " voters among " + nodeCount + " nodes");
        }
        this.nodeCount = nodeCount;
        this.voterCount = voterCount;
        this.overrides = Map.copyOf(overrides);
        this.shortTimeouts = shortTimeouts;
    }

    /**
     * Adds per-node overrides, computed from the node id and a free port reserved for that node
     * ({@link #extraPort}); they win over everything else. Call before the cluster starts.
     */
    ClusterProcesses withPerNode(PerNode overrides) {
        this.perNode = overrides;
        return this;
    }

    /** The free port reserved for node {@code id} for {@link #withPerNode} overrides. */
    int extraPort(int id) {
        return extraPorts.get(id);
    }

    @Override
    public void beforeAll(ExtensionContext context) throws IOException {
        root = Files.createTempDirectory("tributary-" + context.getRequiredTestClass().getSimpleName() + "-");
        // Client ports 0..n-1, Ratis ports of the voters n..n+v-1, replication ports n+v..2n+v-1, metrics ports
        // 2n+v..3n+v-1, extra ports 3n+v..4n+v-1.
        List<Integer> ports = NodeProcess.freePorts(4 * nodeCount + voterCount);
        voters = IntStream.rangeClosed(1, voterCount)
                .mapToObj(id -> id + "@127.0.0.1:" + ports.get(nodeCount + id - 1))
                .collect(Collectors.joining(","));
        for (int id = 1; id <= nodeCount; id++) {
            Map<String, String> config = new LinkedHashMap<>();
            config.put("controller.quorum.voters", voters);
            int metricsPort = ports.get(2 * nodeCount + voterCount + id - 1);
            config.put("metrics.listener", "127.0.0.1:" + metricsPort);
            if (shortTimeouts) {
                config.put("broker.session.timeout.ms", Long.toString(SESSION_TIMEOUT.toMillis()));
                config.put("broker.heartbeat.interval.ms", Long.toString(HEARTBEAT_INTERVAL.toMillis()));
            }
            config.putAll(overrides);
            int extraPort = ports.get(3 * nodeCount + voterCount + id - 1);
            extraPorts.put(id, extraPort);
            config.putAll(perNode.overrides(id, ports.get(id - 1), extraPort));
            metricsPorts.put(id, metricsPort);
            Path dir = Files.createDirectories(root.resolve("node-" + id));
            int replicationPort = ports.get(nodeCount + voterCount + id - 1);
            nodes.put(id, NodeProcess.prepare(id, dir, ports.get(id - 1), replicationPort, config));
        }
        try {
            launch(nodes.keySet());
            awaitHealthy();
        } catch (RuntimeException | AssertionError e) {
            failed = true;
            dumpLogs("starting the cluster of " + context.getRequiredTestClass().getSimpleName());
            throw e;
        }
    }

    @Override
    public void afterTestExecution(ExtensionContext context) {
        if (context.getExecutionException().isPresent()) {
            failed = true;
            dumpLogs(context.getDisplayName());
        }
        resumeAll(); // a test that failed while nodes were paused must not leave them stopped for the next one
    }

    @Override
    public void afterAll(ExtensionContext context) throws IOException {
        for (NodeProcess node : nodes.values()) {
            node.close(); // SIGKILL, paused or not
        }
        if (root == null) {
            return;
        }
        if (failed) {
            System.err.printf("%nClusterProcesses: kept the data and full logs of the failed cluster in %s%n", root);
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }

    NodeProcess node(int id) {
        NodeProcess node = nodes.get(id);
        if (node == null) {
            throw new IllegalArgumentException("no node " + id + " in " + nodes.keySet());
        }
        return node;
    }

    /** Every node id, running or not. */
    Set<Integer> ids() {
        return new TreeSet<>(nodes.keySet());
    }

    Set<Integer> voterIds() {
        return IntStream.rangeClosed(1, voterCount).boxed().collect(Collectors.toCollection(TreeSet::new));
    }

    /** Ids of the nodes whose process is running now. */
    Set<Integer> liveIds() {
        return nodes.values().stream().filter(NodeProcess::isAlive).map(NodeProcess::nodeId)
                .collect(Collectors.toCollection(TreeSet::new));
    }

    /** Ids of the nodes that are running and not paused: the ones that answer requests. */
    Set<Integer> respondingIds() {
        return nodes.values().stream().filter(node -> node.isAlive() && !node.isPaused()).map(NodeProcess::nodeId)
                .collect(Collectors.toCollection(TreeSet::new));
    }

    /** The client port of node {@code id}. */
    int port(int id) {
        return node(id).port();
    }

    /**
     * The port of node {@code id}'s HTTP endpoint ({@code GET /metrics}, {@code GET /health} on 127.0.0.1), unless
     * the test's overrides set {@code metrics.listener} themselves.
     */
    int metricsPort(int id) {
        node(id);
        return metricsPorts.get(id);
    }

    /** bootstrap.servers naming the given nodes, or every running node if none is given. */
    String bootstrap(int... ids) {
        Set<Integer> chosen = ids.length == 0 ? liveIds() : Arrays.stream(ids).boxed().collect(Collectors.toSet());
        return chosen.stream().sorted().map(id -> node(id).bootstrap()).collect(Collectors.joining(","));
    }

    /** The voters string every node was given. */
    String voters() {
        return voters;
    }

    /** SIGKILLs node {@code id}; returns once the process is gone. */
    void kill(int id) {
        expectedAlive.remove(id);
        node(id).kill();
    }

    /**
     * SIGSTOPs node {@code id}: it stays a running process with open sockets but answers nothing (and sends no
     * heartbeats) until {@link #resume}. The harness resumes every paused node after each test.
     */
    void pause(int id) {
        node(id).pause();
    }

    /** SIGCONTs node {@code id} after a {@link #pause}. */
    void resume(int id) {
        node(id).resume();
    }

    /** SIGCONTs every paused node. */
    void resumeAll() {
        for (NodeProcess node : nodes.values()) {
            if (node.isPaused()) {
                node.resume();
            }
        }
    }

    /** Starts node {@code id} again on its data and config and waits until it listens (it has registered). */
    void restart(int id) {
        launch(Set.of(id));
    }

    /** Starts every node that is not running, all at once, and waits until each listens. */
    void restartDeadNodes() {
        Set<Integer> dead = new TreeSet<>(nodes.keySet());
        dead.removeAll(liveIds());
        if (!dead.isEmpty()) {
            launch(dead);
        }
    }

    /**
     * Waits until every running node names the same active controller (a voter) in DescribeCluster and Metadata
     * and lists exactly the running nodes as live (unfenced) brokers; returns that agreed view.
     */
    ClusterView awaitHealthy() {
        return awaitHealthy(HEALTH_DEADLINE);
    }

    ClusterView awaitHealthy(Duration deadline) {
        ClusterView[] agreed = new ClusterView[1];
        await("every running node agrees on an active controller and on the live brokers " + liveIds())
                .atMost(deadline)
                .pollInterval(Duration.ofMillis(200))
                .ignoreExceptionsInstanceOf(UncheckedIOException.class) // a node still starting or just killed
                .failFast("a node died that no test killed", this::assertNoneCrashed)
                .untilAsserted(() -> {
                    Set<Integer> live = liveIds();
                    Map<Integer, ClusterView> views = describeClusterFromEvery();
                    ClusterView first = views.values().iterator().next();
                    assertThat(first.controllerId()).as("controller named by %s", views).isIn(voterIds());
                    assertThat(views.values()).as("DescribeCluster answered by every running node")
                            .allSatisfy(view -> {
                                assertThat(view.controllerId()).isEqualTo(first.controllerId());
                                assertThat(view.liveBrokers()).isEqualTo(live);
                            });
                    for (int id : live) {
                        MetadataView metadata = KafkaRequests.metadata(port(id), List.of());
                        assertThat(metadata.controllerId()).as("controller in node %d's Metadata", id)
                                .isEqualTo(first.controllerId());
                        assertThat(metadata.brokers()).as("brokers in node %d's Metadata", id).isEqualTo(live);
                    }
                    agreed[0] = first;
                });
        return agreed[0];
    }

    /** The active controller, once every running node agrees on it. */
    int controllerId() {
        return awaitHealthy().controllerId();
    }

    /** DescribeCluster (with fenced brokers) from every running node that is not paused, by node id. */
    Map<Integer, ClusterView> describeClusterFromEvery() {
        Map<Integer, ClusterView> views = new TreeMap<>();
        for (int id : respondingIds()) {
            views.put(id, KafkaRequests.describeCluster(port(id)));
        }
        return views;
    }

    /** Metadata for {@code topics} from every running node that is not paused, by node id. */
    Map<Integer, MetadataView> metadataFromEvery(List<String> topics) {
        Map<Integer, MetadataView> views = new TreeMap<>();
        for (int id : respondingIds()) {
            views.put(id, KafkaRequests.metadata(port(id), topics));
        }
        return views;
    }

    /**
     * Waits until every running node describes {@code topics} identically (ids, leaders, epochs, replicas, ISR),
     * with a leader for every partition, and returns that view.
     */
    MetadataView awaitAgreedMetadata(Duration deadline, String... topics) {
        return awaitAgreed(deadline, true, topics);
    }

    MetadataView awaitAgreedMetadata(String... topics) {
        return awaitAgreedMetadata(HEALTH_DEADLINE, topics);
    }

    /** Like {@link #awaitAgreedMetadata} but partitions may lack a leader (all their replicas are down). */
    MetadataView awaitAgreedTopics(String... topics) {
        return awaitAgreed(HEALTH_DEADLINE, false, topics);
    }

    private MetadataView awaitAgreed(Duration deadline, boolean requireLeaders, String... topics) {
        List<String> names = List.of(topics);
        MetadataView[] agreed = new MetadataView[1];
        await("every running node describes " + names + " alike"
                + (requireLeaders ? ", with a leader for every partition" : ""))
                .atMost(deadline)
                .pollInterval(Duration.ofMillis(200))
                .ignoreExceptionsInstanceOf(UncheckedIOException.class)
                .failFast("a node died that no test killed", this::assertNoneCrashed)
                .untilAsserted(() -> {
                    Map<Integer, MetadataView> views = metadataFromEvery(names);
                    MetadataView first = views.values().iterator().next();
                    assertThat(first.topics().keySet()).as("topics known to every node: %s", views)
                            .containsExactlyInAnyOrderElementsOf(names);
                    if (requireLeaders) {
                        first.topics().forEach((name, topic) -> assertThat(topic.partitions().values())
                                .as("leaders of %s", name)
                                .allSatisfy(partition -> assertThat(partition.leader()).isNotNegative()));
                    }
                    for (MetadataView view : views.values()) {
                        assertThat(view.topics()).as("what each node says: %s", views).isEqualTo(first.topics());
                    }
                    agreed[0] = first;
                });
        return agreed[0];
    }

    /** One partition as node {@code viaNode} describes it in Metadata v12. */
    PartitionState partitionState(int viaNode, String topic, int partition) {
        PartitionState state = KafkaRequests.metadata(port(viaNode), topic).topic(topic).partitions().get(partition);
        if (state == null) {
            throw new AssertionError("node " + viaNode + " knows no partition " + partition + " of " + topic);
        }
        return state;
    }

    /**
     * Waits until every running, unpaused node describes partition {@code partition} of {@code topic} alike and
     * that description satisfies {@code condition}; returns it.
     */
    PartitionState awaitPartition(String topic, int partition, String description,
            Predicate<PartitionState> condition, Duration deadline) {
        PartitionState[] agreed = new PartitionState[1];
        await(topic + "-" + partition + ": " + description + ", as every running node says")
                .atMost(deadline)
                .pollInterval(Duration.ofMillis(100))
                .ignoreExceptionsInstanceOf(UncheckedIOException.class) // a node just killed or still starting
                .failFast("a node died that no test killed", this::assertNoneCrashed)
                .untilAsserted(() -> {
                    Map<Integer, PartitionState> views = new TreeMap<>();
                    for (int id : respondingIds()) {
                        views.put(id, partitionState(id, topic, partition));
                    }
                    PartitionState first = views.values().iterator().next();
                    assertThat(views.values()).as("%s-%d by node", topic, partition).allMatch(first::equals);
                    assertThat(first).as("%s-%d: %s", topic, partition, description).matches(condition);
                    agreed[0] = first;
                });
        return agreed[0];
    }

    /** Waits until the ISR of the partition is exactly {@code isr} (in any order), with a leader among them. */
    PartitionState awaitIsr(String topic, int partition, Set<Integer> isr, Duration deadline) {
        return awaitPartition(topic, partition, "ISR " + isr + " with a leader among them",
                state -> new TreeSet<>(state.isr()).equals(new TreeSet<>(isr)) && isr.contains(state.leader()),
                deadline);
    }

    /** Waits until every replica of the partition is in its ISR and it has a leader. */
    PartitionState awaitFullIsr(String topic, int partition, Duration deadline) {
        return awaitPartition(topic, partition, "every replica in the ISR, with a leader",
                state -> state.leader() >= 0 && new TreeSet<>(state.isr()).equals(new TreeSet<>(state.replicas())),
                deadline);
    }

    /** The stored bytes of a partition on node {@code id}: its .log segments concatenated in name order. */
    byte[] partitionLogBytes(int id, String topic, int partition) {
        return node(id).partitionLogBytes(topic, partition);
    }

    /**
     * Waits until the concatenated .log segments of the partition are byte-identical on every node of
     * {@code replicas} (followers may be a fetch behind) and non-empty; returns those bytes.
     */
    byte[] awaitIdenticalLogs(String topic, int partition, Set<Integer> replicas, Duration deadline) {
        byte[][] agreed = new byte[1][];
        await(topic + "-" + partition + " byte-identical on nodes " + replicas)
                .atMost(deadline)
                .pollInterval(Duration.ofMillis(250))
                .ignoreExceptionsInstanceOf(UncheckedIOException.class) // a segment rolled or truncated meanwhile
                .untilAsserted(() -> {
                    Map<Integer, byte[]> logs = new TreeMap<>();
                    for (int id : replicas) {
                        logs.put(id, partitionLogBytes(id, topic, partition));
                    }
                    byte[] first = logs.values().iterator().next();
                    Map<Integer, Integer> sizes = new TreeMap<>();
                    logs.forEach((id, bytes) -> sizes.put(id, bytes.length));
                    assertThat(first).as("log of %s-%d, sizes by node %s", topic, partition, sizes).isNotEmpty();
                    logs.forEach((id, bytes) -> assertThat(Arrays.equals(bytes, first))
                            .as("log of %s-%d on node %d equals node %d's; sizes by node %s", topic, partition, id,
                                    logs.keySet().iterator().next(), sizes)
                            .isTrue());
                    agreed[0] = first;
                });
        return agreed[0];
    }

    /** Prints the log tail of every node to stderr. */
    void dumpLogs(String what) {
        for (NodeProcess node : nodes.values()) {
            System.err.printf("%n=== %s failed; %s, alive=%s; last %d lines of %s ===%n%s%n=== end of %s log ===%n",
                    what, node, node.isAlive(), LOG_TAIL_LINES, node.logFile(), node.logTail(LOG_TAIL_LINES), node);
        }
    }

    private void assertNoneCrashed() {
        Set<Integer> crashed = new TreeSet<>(expectedAlive);
        crashed.removeAll(liveIds());
        assertThat(crashed).as("nodes that exited though no test killed them (see their logs)").isEmpty();
    }

    /** Launches the given nodes together, then waits until each listens, within one shared deadline. */
    private void launch(Set<Integer> ids) {
        List<NodeProcess> launched = new ArrayList<>();
        for (int id : ids) {
            NodeProcess node = node(id);
            node.spawn();
            expectedAlive.add(id);
            launched.add(node);
        }
        long deadlineNs = System.nanoTime() + START_DEADLINE.toNanos();
        for (NodeProcess node : launched) {
            Duration left = Duration.ofNanos(Math.max(deadlineNs - System.nanoTime(), 1_000_000L));
            try {
                node.awaitListening(left);
            } catch (AssertionError e) {
                expectedAlive.remove(node.nodeId());
                throw e;
            }
        }
    }
}
