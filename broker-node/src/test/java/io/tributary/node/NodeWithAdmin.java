package io.tributary.node;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;

/**
 * A real node in the test JVM (auto-creation off unless overridden) with kafka-clients' admin client on it: the
 * set-up of tests that drive an API through {@code Admin}. Close it in {@code @AfterEach}.
 */
final class NodeWithAdmin implements AutoCloseable {

    final InProcessNode node;
    final Admin admin;

    private NodeWithAdmin(InProcessNode node, Admin admin) {
        this.node = node;
        this.admin = admin;
    }

    /** Starts the node with {@code overrides} and creates {@code topics} (answered before this returns). */
    static NodeWithAdmin start(Path dataDir, Map<String, String> overrides, NewTopic... topics) throws Exception {
        Map<String, String> config = new HashMap<>(Map.of("auto.create.topics.enable", "false"));
        config.putAll(overrides);
        InProcessNode node = InProcessNode.start(dataDir, config);
        Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, node.bootstrap(),
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000));
        NodeWithAdmin started = new NodeWithAdmin(node, admin);
        if (topics.length > 0) {
            try {
                admin.createTopics(List.of(topics)).all().get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                started.close();
                throw e;
            }
        }
        return started;
    }

    @Override
    public void close() {
        admin.close(Duration.ofSeconds(5));
        node.close();
    }
}
