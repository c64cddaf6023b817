package io.tributary.node.it;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.AfterTestExecutionCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Owns the {@link NodeProcess}es a test starts: when the test fails it prints each node's log tail to stderr
 * (failsafe keeps it in the test report), and after every test it kills whatever is still running.
 *
 * <p>Register as an instance field: {@code @RegisterExtension final NodeProcesses nodes = new NodeProcesses();}.
 * Nodes are killed in {@code afterEach}, before JUnit deletes the test's {@code @TempDir}.
 */
final class NodeProcesses implements AfterTestExecutionCallback, AfterEachCallback {
    private static final int LOG_TAIL_LINES = 80;

    private final List<NodeProcess> nodes = new CopyOnWriteArrayList<>();

    /** Starts node 1 with default config in {@code dataDir}. */
    NodeProcess start(Path dataDir) {
        return start(1, dataDir, Map.of());
    }

    NodeProcess start(int nodeId, Path dataDir, Map<String, String> overrides) {
        NodeProcess node = NodeProcess.start(nodeId, dataDir, overrides);
        nodes.add(node);
        return node;
    }

    @Override
    public void afterTestExecution(ExtensionContext context) {
        if (context.getExecutionException().isEmpty()) {
            return;
        }
        for (NodeProcess node : nodes) {
            System.err.printf("%n=== %s failed; %s, alive=%s; last %d lines of %s ===%n%s%n=== end of %s log ===%n",
                    context.getDisplayName(), node, node.isAlive(), LOG_TAIL_LINES, node.logFile(),
                    node.logTail(LOG_TAIL_LINES), node);
        }
    }

    @Override
    public void afterEach(ExtensionContext context) {
        for (NodeProcess node : nodes) {
            node.close();
        }
        nodes.clear();
    }
}
