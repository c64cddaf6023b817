package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tributary.node.it.KafkaRequests.ClusterView;
import io.tributary.node.it.KafkaRequests.MetadataView;
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
 * {@code @BeforeEach}, so that each test starts from a whole cluster whatever ran before it.
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
    private final Map<Integer, NodeProcess> nodes = new TreeMap<>();
    /** Nodes this harness has not been told to kill: one of them dead means it crashed. */
    private final Set<Integer> expectedAlive = new TreeSet<>();
    private Path root;
    private String voters;
    private boolean failed;

    ClusterProcesses(int nodeCount, int voterCount) {
        this(nodeCount, voterCount, Map.of());
    }

    /** {@code overrides} win over the harness' defaults (short session timeout, voters, ports, data dirs). */
    ClusterProcesses(int nodeCount, int voterCount, Map<String, String> overrides) {
        if (voterCount < 1 || voterCount > nodeCount) {
            throw new IllegalArgumentException(voterCount + " voters among " + nodeCount + " nodes");
        }
        this.nodeCount = nodeCount;
        this.voterCount = voterCount;
        this.overrides = Map.copyOf(overrides);
    }

    @Override
    public void beforeAll(ExtensionContext context) throws IOException {
        root = Files.createTempDirectory("tributary-" + context.getRequiredTestClass().getSimpleName() + "-");
        List<Integer> ports = NodeProcess.freePorts(nodeCount + voterCount);
        voters = IntStream.rangeClosed(1, voterCount)
                .mapToObj(id -> id + "@127.0.0.1:" + ports.get(nodeCount + id - 1))
                .collect(Collectors.joining(","));
        for (int id = 1; id <= nodeCount; id++) {
            Map<String, String> config = new LinkedHashMap<>();
            config.put("controller.quorum.voters", voters);
            config.put("broker.session.timeout.ms", Long.toString(SESSION_TIMEOUT.toMillis()));
            config.put("broker.heartbeat.interval.ms", Long.toString(HEARTBEAT_INTERVAL.toMillis()));
            config.putAll(overrides);
            Path dir = Files.createDirectories(root.resolve("node-" + id));
            nodes.put(id, NodeProcess.prepare(id, dir, ports.get(id - 1), config));
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
    }

    @Override
    public void afterAll(ExtensionContext context) throws IOException {
        for (NodeProcess node : nodes.values()) {
            node.close();
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

    /** The client port of node {@code id}. */
    int port(int id) {
        return node(id).port();
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

    /** DescribeCluster (with fenced brokers) from every running node, by node id. */
    Map<Integer, ClusterView> describeClusterFromEvery() {
        Map<Integer, ClusterView> views = new TreeMap<>();
        for (int id : liveIds()) {
            views.put(id, KafkaRequests.describeCluster(port(id)));
        }
        return views;
    }

    /** Metadata for {@code topics} from every running node, by node id. */
    Map<Integer, MetadataView> metadataFromEvery(List<String> topics) {
        Map<Integer, MetadataView> views = new TreeMap<>();
        for (int id : liveIds()) {
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
