package io.tributary.node;

import java.util.Map;
import java.util.Properties;

/** Node configs for config tests: node 1 with a data dir that is never used, plus the given keys. */
final class TestNodeConfigs {

    private TestNodeConfigs() {
    }

    static NodeConfig config(Map<String, String> values) {
        Properties props = new Properties();
        props.put("node.id", "1");
        props.put("data.dir", "/tmp/unused");
        props.putAll(values);
        return NodeConfig.from(props);
    }
}
