package io.tributary.node;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;

/** Starts a real node in the test JVM on a free port, with real sockets, disk and clients. */
public final class InProcessNode implements AutoCloseable {

    private final TributaryNode node;

    private InProcessNode(TributaryNode node) {
        this.node = node;
    }

    public static InProcessNode start(Path dataDir, Map<String, String> overrides) throws IOException,
            InterruptedException {
        Properties props = new Properties();
        props.setProperty("node.id", "1");
        props.setProperty("data.dir", dataDir.toString());
        props.setProperty("listeners", "PLAINTEXT://127.0.0.1:" + freePort());
        props.putAll(overrides);
        return new InProcessNode(TributaryNode.start(NodeConfig.from(props)));
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    public String bootstrap() {
        return "127.0.0.1:" + node.port();
    }

    public int port() {
        return node.port();
    }

    io.tributary.replication.ReplicaManager replicas() {
        return node.replicas();
    }

    @Override
    public void close() {
        node.close();
    }
}
