package io.tributary.node;

import io.tributary.metadata.QuorumConfig;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;

/**
 * A node's configuration, read once from a properties file and validated here. Keys follow Apache Kafka's broker
 * config names where Kafka has one. See README.md ("Configuration") for every key with its default and meaning.
 */
public record NodeConfig(
        int nodeId,
        List<Listener> listeners,
        List<Listener> advertisedListeners,
        Path dataDir,
        int numPartitions,
        int defaultReplicationFactor,
        boolean autoCreateTopicsEnable,
        long logSegmentBytes,
        long logRollMs,
        long logRetentionMs,
        long logRetentionBytes,
        int messageMaxBytes,
        String logMessageTimestampType,
        String compressionType,
        long logRetentionCheckIntervalMs,
        boolean logCleanerEnable,
        long logCleanerBackoffMs,
        long logCleanerDedupeBufferSize,
        double logCleanerIoMaxBytesPerSecond,
        int logCleanerThreads,
        long logFlushIntervalMs,
        long logFlushIntervalMessages,
        long producerIdExpirationMs,
        long producerIdExpirationCheckIntervalMs,
        int socketRequestMaxBytes,
        long connectionsMaxIdleMs,
        int maxConnections,
        int maxConnectionsPerIp,
        Map<String, Integer> maxConnectionsPerIpOverrides,
        int numIoThreads,
        int queuedMaxRequests,
        long queuedMaxRequestBytes,
        int fetchMaxBytes,
        Map<Integer, InetSocketAddress> controllerQuorumVoters,
        long brokerSessionTimeoutMs,
        long brokerHeartbeatIntervalMs,
        long controllerQuorumElectionTimeoutMs,
        long controllerQuorumRequestTimeoutMs,
        long metadataSnapshotIntervalRecords,
        long metadataLogSegmentBytes,
        Listener replicationListener,
        long replicaLagTimeMaxMs,
        int minInsyncReplicas,
        int replicaFetchWaitMaxMs,
        int replicaFetchMaxBytes,
        int replicaFetchResponseMaxBytes,
        int offsetsTopicNumPartitions,
        int offsetsTopicReplicationFactor,
        int groupInitialRebalanceDelayMs,
        int groupMinSessionTimeoutMs,
        int groupMaxSessionTimeoutMs,
        int groupMaxSize,
        long offsetsRetentionMinutes,
        long offsetsRetentionCheckIntervalMs,
        Transactions transactions,
        io.tributary.metadata.LeaderElectionConfig leaderElections,
        io.tributary.node.group.ConsumerGroupConfig consumerGroups,
        Listener metricsListener,
        InterNodeSecurity interNode,
        Map<String, String> ssl,
        List<String> saslEnabledMechanisms,
        Map<String, String> saslJaasConfigs,
        Authorization authorization) {

    /**
     * The transaction coordinator's settings, Kafka's names and defaults: {@code transaction.state.log.*} shape the
     * internal {@code __transaction_state} topic when it is created on first use; the rest bound transactions.
     *
     * @param stateLogNumPartitions {@code transaction.state.log.num.partitions} (50)
     * @param stateLogReplicationFactor {@code transaction.state.log.replication.factor} (3; fewer if fewer nodes are
     *     live when the topic is created)
     * @param stateLogMinIsr {@code transaction.state.log.min.isr} (2): the topic's {@code min.insync.replicas}
     * @param stateLogSegmentBytes {@code transaction.state.log.segment.bytes} (100 MiB)
     * @param maxTimeoutMs {@code transaction.max.timeout.ms} (900000): the largest transaction timeout a producer may
     *     ask for
     * @param idExpirationMs {@code transactional.id.expiration.ms} (7 days): an idle transactional id is forgotten
     * @param abortTimedOutIntervalMs {@code transaction.abort.timed.out.transaction.cleanup.interval.ms} (10000)
     * @param removeExpiredIntervalMs {@code transaction.remove.expired.transaction.cleanup.interval.ms} (3600000)
     */
    public record Transactions(int stateLogNumPartitions, int stateLogReplicationFactor, int stateLogMinIsr,
            int stateLogSegmentBytes, int maxTimeoutMs, long idExpirationMs, long abortTimedOutIntervalMs,
            long removeExpiredIntervalMs) {
        public Transactions {
            require(stateLogNumPartitions >= 1 && stateLogNumPartitions <= 1000,
                    "transaction.state.log.num.partitions must be in 1..1000");
            require(stateLogReplicationFactor >= 1, "transaction.state.log.replication.factor must be >= 1");
            require(stateLogMinIsr >= 1, "transaction.state.log.min.isr must be >= 1");
            require(stateLogSegmentBytes >= 1024, "transaction.state.log.segment.bytes must be >= 1024");
            require(maxTimeoutMs >= 1, "transaction.max.timeout.ms must be >= 1");
            require(idExpirationMs >= 1, "transactional.id.expiration.ms must be >= 1");
            require(abortTimedOutIntervalMs >= 1,
                    "transaction.abort.timed.out.transaction.cleanup.interval.ms must be >= 1");
            require(removeExpiredIntervalMs >= 1,
                    "transaction.remove.expired.transaction.cleanup.interval.ms must be >= 1");
        }

        static Transactions parse(Properties props) {
            return new Transactions(intValue(props, "transaction.state.log.num.partitions"),
                    intValue(props, "transaction.state.log.replication.factor"),
                    intValue(props, "transaction.state.log.min.isr"),
                    intValue(props, "transaction.state.log.segment.bytes"),
                    intValue(props, "transaction.max.timeout.ms"),
                    longValue(props, "transactional.id.expiration.ms"),
                    longValue(props, "transaction.abort.timed.out.transaction.cleanup.interval.ms"),
                    longValue(props, "transaction.remove.expired.transaction.cleanup.interval.ms"));
        }

        void putInto(Map<String, String> v) {
            v.put("transaction.state.log.num.partitions", Integer.toString(stateLogNumPartitions));
            v.put("transaction.state.log.replication.factor", Integer.toString(stateLogReplicationFactor));
            v.put("transaction.state.log.min.isr", Integer.toString(stateLogMinIsr));
            v.put("transaction.state.log.segment.bytes", Integer.toString(stateLogSegmentBytes));
            v.put("transaction.max.timeout.ms", Integer.toString(maxTimeoutMs));
            v.put("transactional.id.expiration.ms", Long.toString(idExpirationMs));
            v.put("transaction.abort.timed.out.transaction.cleanup.interval.ms",
                    Long.toString(abortTimedOutIntervalMs));
            v.put("transaction.remove.expired.transaction.cleanup.interval.ms",
                    Long.toString(removeExpiredIntervalMs));
        }
    }

    /** Kafka's KRaft ACL authorizer, the one value {@code authorizer.class.name} may name (ACLs on). */
    public static final String STANDARD_AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer";

    /**
     * ACL authorization as Kafka configures it: on when {@code authorizer.class.name} names
     * {@link #STANDARD_AUTHORIZER}; {@code super.users} ({@code User:a;User:b}) may do anything;
     * {@code allow.everyone.if.no.acl.found} lets anyone act on a resource that no ACL names.
     */
    public record Authorization(boolean enabled, Set<String> superUsers, boolean allowEveryoneIfNoAclFound) {
        public Authorization {
            superUsers = Set.copyOf(superUsers);
            for (String user : superUsers) {
                if (user.indexOf(':') <= 0) {
                    throw new IllegalArgumentException("super.users entries must be principals like User:admin, "
                            + "separated by ';', was '" + user + "'");
                }
            }
        }

        static Authorization parse(String className, String superUsers, boolean allowEveryone) {
            if (!className.isEmpty() && !className.equals(STANDARD_AUTHORIZER)) {
                throw new IllegalArgumentException("authorizer.class.name must be empty (no authorization) or "
                        + STANDARD_AUTHORIZER + " (ACLs in the cluster metadata), was '" + className + "'");
            }
            Set<String> users = new java.util.TreeSet<>();
            for (String user : superUsers.split(";")) {
                if (!user.isBlank()) {
                    users.add(user.trim());
                }
            }
            return new Authorization(!className.isEmpty(), users, allowEveryone);
        }
    }

    /** Kafka's listener names for its security protocols, used when a listener's name is not in the map. */
    public static final Map<String, String> DEFAULT_SECURITY_PROTOCOLS = Map.of("PLAINTEXT", "PLAINTEXT",
            "SSL", "SSL", "SASL_PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL", "SASL_SSL");
    /** The security protocols a Kafka listener can use today. */
    static final Set<String> SUPPORTED_PROTOCOLS = Set.of("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL");

    /**
     * How nodes talk to each other ({@code inter.node.*}): PLAINTEXT, or SSL (mutual TLS on the Ratis and
     * replication ports, every node presenting a certificate from its keystore that the others' truststore trusts).
     */
    public record InterNodeSecurity(String protocol, Path keystoreLocation, String keystoreType,
            String keystorePassword, String keyPassword, Path truststoreLocation, String truststoreType,
            String truststorePassword) {

        public boolean ssl() {
            return protocol.equals("SSL");
        }

        /** Reads the keystores; throws IllegalArgumentException naming the setting that is wrong. */
        public io.tributary.metadata.InterNodeTls load() {
            return io.tributary.metadata.InterNodeTls.load(keystoreLocation, keystoreType,
                    chars(keystorePassword), keyPassword.isEmpty() ? null : chars(keyPassword), truststoreLocation,
                    truststoreType, chars(truststorePassword));
        }

        private static char[] chars(String password) {
            return password.isEmpty() ? null : password.toCharArray();
        }
    }

    /** Every key this record reads, with its default ({@code null}: required). */
    public static final Map<String, String> DEFAULTS = defaults();

    private static Map<String, String> defaults() {
        Map<String, String> d = new TreeMap<>();
        d.put("node.id", null);
        d.put("data.dir", null);
        d.put("listeners", "PLAINTEXT://127.0.0.1:9092");
        d.put("advertised.listeners", "");
        d.put("num.partitions", "1");
        d.put("default.replication.factor", "1");
        d.put("auto.create.topics.enable", "true");
        d.put("log.segment.bytes", "1073741824");
        d.put("log.roll.ms", "604800000");
        d.put("log.roll.hours", "168");
        d.put("log.retention.ms", "604800000");
        d.put("log.retention.minutes", ""); // blank: unset, as Kafka's null default
        d.put("log.retention.hours", "168");
        d.put("log.retention.bytes", "-1");
        d.put("message.max.bytes", "1048588");
        d.put("log.message.timestamp.type", "CreateTime");
        d.put("compression.type", "producer");
        d.put("log.retention.check.interval.ms", "300000");
        d.put("log.cleaner.enable", "true");
        d.put("log.cleaner.backoff.ms", "15000");
        d.put("log.cleaner.dedupe.buffer.size", "134217728");
        d.put("log.cleaner.io.max.bytes.per.second", Double.toString(Double.MAX_VALUE)); // Kafka's: no bound
        d.put("log.cleaner.threads", "1");
        // Kafka's defaults: no fsync on a timer or a message count; durability comes from replication (acks=all and
        // min.insync.replicas), and a log is fsynced when its segment rolls and at a clean close.
        d.put("log.flush.interval.ms", Long.toString(Long.MAX_VALUE));
        d.put("log.flush.interval.messages", Long.toString(Long.MAX_VALUE));
        d.put("producer.id.expiration.ms", "86400000");
        d.put("producer.id.expiration.check.interval.ms", "600000");
        d.put("socket.request.max.bytes", "104857600");
        d.put("connections.max.idle.ms", "600000");
        d.put("max.connections", "2147483647");
        d.put("max.connections.per.ip", "2147483647");
        d.put("max.connections.per.ip.overrides", "");
        d.put("num.io.threads", "4");
        d.put("queued.max.requests", "500");
        d.put("queued.max.request.bytes", ""); // blank: a quarter of the JVM's maximum heap
        d.put("fetch.max.bytes", "57671680");
        d.put("controller.quorum.voters", "");
        d.put("broker.session.timeout.ms", "3000");
        d.put("broker.heartbeat.interval.ms", "500");
        d.put("controller.quorum.election.timeout.ms", "1500");
        d.put("controller.quorum.request.timeout.ms", "5000");
        d.put("metadata.snapshot.interval.records", "1000");
        d.put("metadata.log.segment.bytes", "65536");
        d.put("replication.listener", "");
        d.put("replica.lag.time.max.ms", "10000");
        d.put("min.insync.replicas", "2");
        d.put("replica.fetch.wait.max.ms", "500");
        d.put("replica.fetch.max.bytes", "1048576");
        d.put("replica.fetch.response.max.bytes", "10485760");
        d.put("offsets.topic.num.partitions", "50");
        d.put("offsets.topic.replication.factor", "3");
        d.put("group.initial.rebalance.delay.ms", "3000");
        d.put("group.min.session.timeout.ms", "6000");
        d.put("group.max.session.timeout.ms", "1800000");
        d.put("group.max.size", "1000");
        d.put("group.consumer.session.timeout.ms", "45000");
        d.put("group.consumer.heartbeat.interval.ms", "5000");
        d.put("group.consumer.max.size", "1000");
        d.put("group.consumer.assignors", "uniform,range");
        d.put("offsets.retention.minutes", "10080");
        d.put("offsets.retention.check.interval.ms", "600000");
        d.put("transaction.state.log.num.partitions", "50");
        d.put("transaction.state.log.replication.factor", "3");
        d.put("transaction.state.log.min.isr", "2");
        d.put("transaction.state.log.segment.bytes", "104857600");
        d.put("transaction.max.timeout.ms", "900000");
        d.put("transactional.id.expiration.ms", "604800000");
        d.put("transaction.abort.timed.out.transaction.cleanup.interval.ms", "10000");
        d.put("transaction.remove.expired.transaction.cleanup.interval.ms", "3600000");
        d.put("auto.leader.rebalance.enable", "true");
        d.put("leader.imbalance.per.broker.percentage", "10");
        d.put("leader.imbalance.check.interval.seconds", "300");
        d.put("unclean.leader.election.enable", "false");
        d.put("metrics.listener", "");
        d.put("listener.security.protocol.map", "");
        d.put("sasl.enabled.mechanisms", "PLAIN");
        d.put("inter.node.security.protocol", "PLAINTEXT");
        d.put("authorizer.class.name", "");
        d.put("super.users", "");
        d.put("allow.everyone.if.no.acl.found", "false");
        d.put("inter.node.ssl.keystore.location", "");
        d.put("inter.node.ssl.keystore.type", "PKCS12");
        d.put("inter.node.ssl.keystore.password", "");
        d.put("inter.node.ssl.key.password", "");
        d.put("inter.node.ssl.truststore.location", "");
        d.put("inter.node.ssl.truststore.type", "PKCS12");
        d.put("inter.node.ssl.truststore.password", "");
        return d;
    }

    public NodeConfig {
        require(nodeId >= 0, "node.id must be >= 0, was " + nodeId);
        listeners = List.copyOf(listeners);
        advertisedListeners = List.copyOf(advertisedListeners);
        ssl = Map.copyOf(ssl);
        saslEnabledMechanisms = List.copyOf(saslEnabledMechanisms);
        saslJaasConfigs = Map.copyOf(saslJaasConfigs);
        require(!listeners.isEmpty(), "listeners must name at least one listener");
        require(numPartitions >= 1, "num.partitions must be >= 1");
        require(defaultReplicationFactor >= 1, "default.replication.factor must be >= 1");
        require(logSegmentBytes >= 14, "log.segment.bytes must be >= 14");
        require(logRollMs >= 1, "log.roll.ms must be >= 1");
        require(logRetentionMs >= -1, "log.retention.ms must be >= -1");
        require(logRetentionBytes >= -1, "log.retention.bytes must be >= -1");
        require(messageMaxBytes >= 0, "message.max.bytes must be >= 0");
        require(logRetentionCheckIntervalMs >= 1, "log.retention.check.interval.ms must be >= 1");
        require(logCleanerBackoffMs >= 1, "log.cleaner.backoff.ms must be >= 1");
        require(logCleanerDedupeBufferSize >= 1024, "log.cleaner.dedupe.buffer.size must be >= 1024");
        require(logCleanerIoMaxBytesPerSecond > 0, "log.cleaner.io.max.bytes.per.second must be > 0");
        require(logCleanerThreads >= 1 && logCleanerThreads <= 16, "log.cleaner.threads must be in 1..16");
        require(logFlushIntervalMs >= 1, "log.flush.interval.ms must be >= 1");
        require(logFlushIntervalMessages >= 1, "log.flush.interval.messages must be >= 1");
        require(producerIdExpirationMs >= 1, "producer.id.expiration.ms must be >= 1");
        require(producerIdExpirationCheckIntervalMs >= 1, "producer.id.expiration.check.interval.ms must be >= 1");
        require(socketRequestMaxBytes >= 1024, "socket.request.max.bytes must be >= 1024");
        require(connectionsMaxIdleMs >= 1000, "connections.max.idle.ms must be >= 1000");
        require(maxConnections >= 1, "max.connections must be >= 1");
        require(maxConnectionsPerIp >= 0, "max.connections.per.ip must be >= 0");
        maxConnectionsPerIpOverrides = Map.copyOf(maxConnectionsPerIpOverrides);
        require(numIoThreads >= 1 && numIoThreads <= 64, "num.io.threads must be in 1..64");
        require(queuedMaxRequests >= 1, "queued.max.requests must be >= 1");
        require(queuedMaxRequestBytes == -1 || queuedMaxRequestBytes >= 1024,
                "queued.max.request.bytes must be -1 (no bound) or >= 1024");
        require(fetchMaxBytes >= 1024, "fetch.max.bytes must be >= 1024");
        controllerQuorumVoters = Map.copyOf(controllerQuorumVoters);
        require(controllerQuorumVoters.isEmpty() || Set.of(1, 3, 5).contains(controllerQuorumVoters.size()),
                "controller.quorum.voters must name 1, 3 or 5 voters");
        require(brokerSessionTimeoutMs >= 1000, "broker.session.timeout.ms must be >= 1000");
        require(brokerHeartbeatIntervalMs >= 50 && brokerHeartbeatIntervalMs * 2 <= brokerSessionTimeoutMs,
                "broker.heartbeat.interval.ms must be >= 50 and at most half of broker.session.timeout.ms");
        require(controllerQuorumElectionTimeoutMs >= 150, "controller.quorum.election.timeout.ms must be >= 150");
        require(controllerQuorumRequestTimeoutMs >= 500, "controller.quorum.request.timeout.ms must be >= 500");
        require(metadataSnapshotIntervalRecords >= 1, "metadata.snapshot.interval.records must be >= 1");
        require(offsetsTopicNumPartitions >= 1 && offsetsTopicNumPartitions <= 1000,
                "offsets.topic.num.partitions must be in 1..1000");
        require(offsetsTopicReplicationFactor >= 1, "offsets.topic.replication.factor must be >= 1");
        require(groupInitialRebalanceDelayMs >= 0, "group.initial.rebalance.delay.ms must be >= 0");
        require(groupMinSessionTimeoutMs >= 1 && groupMaxSessionTimeoutMs >= groupMinSessionTimeoutMs,
                "group.min.session.timeout.ms must be >= 1 and <= group.max.session.timeout.ms");
        require(groupMaxSize >= 1, "group.max.size must be >= 1");
        require(offsetsRetentionMinutes >= 1, "offsets.retention.minutes must be >= 1");
        require(offsetsRetentionCheckIntervalMs >= 1, "offsets.retention.check.interval.ms must be >= 1");
        require(replicaLagTimeMaxMs >= 100, "replica.lag.time.max.ms must be >= 100");
        require(minInsyncReplicas >= 1, "min.insync.replicas must be >= 1");
        require(replicaFetchWaitMaxMs >= 0 && replicaFetchWaitMaxMs <= 60_000, "replica.fetch.wait.max.ms must be in 0..60000");
        require(replicaFetchMaxBytes >= 1024, "replica.fetch.max.bytes must be >= 1024");
        require(replicaFetchResponseMaxBytes >= 1024, "replica.fetch.response.max.bytes must be >= 1024");
        require(metadataLogSegmentBytes >= 4096 && metadataLogSegmentBytes <= 64L * 1024 * 1024,
                "metadata.log.segment.bytes must be in 4096..67108864");
    }

    /** Like the record's, without passwords or JAAS configs (safe to log). */
    @Override
    public String toString() {
        return "NodeConfig" + effectiveValues();
    }

    /** The first listener: the one a node alone advertises first, and the default replication host. */
    public Listener listener() {
        return listeners.get(0);
    }

    /** How clients reach the first listener. */
    public Listener advertisedListener() {
        return advertisedListeners.get(0);
    }

    /** Whether this node runs in a cluster (a metadata quorum is configured) rather than alone. */
    public boolean clustered() {
        return !controllerQuorumVoters.isEmpty();
    }

    public boolean isVoter() {
        return controllerQuorumVoters.containsKey(nodeId);
    }

    /** Reads and validates a config; throws IllegalArgumentException naming the bad key. */
    public static NodeConfig from(Properties props) {
        Map<String, String> ssl = new TreeMap<>();
        Map<String, String> jaas = new TreeMap<>();
        for (String key : props.stringPropertyNames()) {
            if (ListenerSsl.isSslKey(key)) {
                ssl.put(key, props.getProperty(key).trim());
            } else if (ListenerSasl.isJaasKey(key)) {
                jaas.put(key, props.getProperty(key).trim());
            } else if (!DEFAULTS.containsKey(key)) {
                throw new IllegalArgumentException("unknown config key '" + key + "'; known keys: " + DEFAULTS.keySet()
                        + " and Kafka's ssl.* keys");
            }
        }
        Map<String, String> protocols = protocolMap(get(props, "listener.security.protocol.map"));
        List<Listener> listeners = Listener.parseAll("listeners", get(props, "listeners"), protocols);
        String advertisedValue = get(props, "advertised.listeners");
        List<Listener> advertised = advertisedValue.isBlank() ? listeners
                : Listener.parseAll("advertised.listeners", advertisedValue, protocols);
        for (Listener a : advertised) {
            if (listeners.stream().noneMatch(l -> l.name().equals(a.name()))) {
                throw new IllegalArgumentException("advertised.listeners names " + a.name()
                        + ", which is not one of the listeners " + listeners);
            }
        }
        // Every listener is advertised: as configured in advertised.listeners, else at its bound address.
        List<Listener> allAdvertised = new java.util.ArrayList<>();
        for (Listener l : listeners) {
            allAdvertised.add(advertised.stream().filter(a -> a.name().equals(l.name())).findFirst().orElse(l));
        }
        return new NodeConfig(
                intValue(props, "node.id"),
                listeners,
                allAdvertised,
                Path.of(get(props, "data.dir")),
                intValue(props, "num.partitions"),
                intValue(props, "default.replication.factor"),
                boolValue(props, "auto.create.topics.enable"),
                longValue(props, "log.segment.bytes"),
                timeMs(props, "log.roll.ms", null, "log.roll.hours"),
                timeMs(props, "log.retention.ms", "log.retention.minutes", "log.retention.hours"),
                longValue(props, "log.retention.bytes"),
                intValue(props, "message.max.bytes"),
                oneOf(props, "log.message.timestamp.type", Set.of("CreateTime", "LogAppendTime")),
                oneOf(props, "compression.type", io.tributary.storage.MessageFormatConfig.COMPRESSION_TYPES),
                longValue(props, "log.retention.check.interval.ms"),
                boolValue(props, "log.cleaner.enable"),
                longValue(props, "log.cleaner.backoff.ms"),
                longValue(props, "log.cleaner.dedupe.buffer.size"),
                doubleValue(props, "log.cleaner.io.max.bytes.per.second"),
                intValue(props, "log.cleaner.threads"),
                longValue(props, "log.flush.interval.ms"),
                longValue(props, "log.flush.interval.messages"),
                longValue(props, "producer.id.expiration.ms"),
                longValue(props, "producer.id.expiration.check.interval.ms"),
                intValue(props, "socket.request.max.bytes"),
                longValue(props, "connections.max.idle.ms"),
                intValue(props, "max.connections"),
                intValue(props, "max.connections.per.ip"),
                perIpOverrides(get(props, "max.connections.per.ip.overrides")),
                intValue(props, "num.io.threads"),
                intValue(props, "queued.max.requests"),
                queuedMaxRequestBytes(get(props, "queued.max.request.bytes")),
                intValue(props, "fetch.max.bytes"),
                voters(get(props, "controller.quorum.voters")),
                longValue(props, "broker.session.timeout.ms"),
                longValue(props, "broker.heartbeat.interval.ms"),
                longValue(props, "controller.quorum.election.timeout.ms"),
                longValue(props, "controller.quorum.request.timeout.ms"),
                longValue(props, "metadata.snapshot.interval.records"),
                longValue(props, "metadata.log.segment.bytes"),
                replicationListener(get(props, "replication.listener"), listeners.get(0)),
                longValue(props, "replica.lag.time.max.ms"),
                intValue(props, "min.insync.replicas"),
                intValue(props, "replica.fetch.wait.max.ms"),
                intValue(props, "replica.fetch.max.bytes"),
                intValue(props, "replica.fetch.response.max.bytes"),
                intValue(props, "offsets.topic.num.partitions"),
                intValue(props, "offsets.topic.replication.factor"),
                intValue(props, "group.initial.rebalance.delay.ms"),
                intValue(props, "group.min.session.timeout.ms"),
                intValue(props, "group.max.session.timeout.ms"),
                intValue(props, "group.max.size"),
                longValue(props, "offsets.retention.minutes"),
                longValue(props, "offsets.retention.check.interval.ms"),
                Transactions.parse(props),
                leaderElections(props),
                consumerGroups(props),
                metricsListener(get(props, "metrics.listener")),
                interNode(props),
                ListenerSsl.requireKeystoreIfUsed(ssl, listeners),
                List.of(get(props, "sasl.enabled.mechanisms").split("\\s*,\\s*")).stream()
                        .filter(m -> !m.isBlank()).map(m -> m.trim().toUpperCase(java.util.Locale.ROOT)).toList(),
                jaas,
                Authorization.parse(get(props, "authorizer.class.name"), get(props, "super.users"),
                        boolValue(props, "allow.everyone.if.no.acl.found")));
    }

    /** The active controller's automatic elections: Kafka's names, the interval in whole seconds (>= 1). */
    private static io.tributary.metadata.LeaderElectionConfig leaderElections(Properties props) {
        long intervalSeconds = longValue(props, "leader.imbalance.check.interval.seconds");
        require(intervalSeconds >= 1 && intervalSeconds <= Long.MAX_VALUE / 1000,
                "leader.imbalance.check.interval.seconds must be >= 1");
        return new io.tributary.metadata.LeaderElectionConfig(boolValue(props, "auto.leader.rebalance.enable"),
                intValue(props, "leader.imbalance.per.broker.percentage"), intervalSeconds * 1000,
                boolValue(props, "unclean.leader.election.enable"));
    }

    /** Parses Kafka's {@code host:count,host:count} (an IP address or a host name per entry). */
    /**
     * {@code queued.max.request.bytes}: blank (the default) bounds request and response memory to a quarter of the
     * JVM's maximum heap; {@code -1} is Kafka's "no bound".
     */
    private static long queuedMaxRequestBytes(String value) {
        if (value.isBlank()) {
            return Math.max(1024, Runtime.getRuntime().maxMemory() / 4);
        }
        try {
            return Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("queued.max.request.bytes must be a number, was '" + value + "'");
        }
    }

    private static Map<String, Integer> perIpOverrides(String value) {
        Map<String, Integer> overrides = new TreeMap<>();
        for (String entry : value.split(",")) {
            if (entry.isBlank()) {
                continue;
            }
            int colon = entry.lastIndexOf(':');
            try {
                overrides.put(entry.substring(0, colon).trim(), Integer.parseInt(entry.substring(colon + 1).trim()));
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("max.connections.per.ip.overrides entries are host:count, was '"
                        + entry + "'");
            }
        }
        return overrides;
    }

    /** Parses {@code NAME:PROTOCOL,...}; Kafka's defaults for the names it does not mention. */
    private static Map<String, String> protocolMap(String value) {
        Map<String, String> map = new TreeMap<>(DEFAULT_SECURITY_PROTOCOLS);
        if (value.isBlank()) {
            return map;
        }
        for (String entry : value.split(",")) {
            String[] parts = entry.trim().split(":");
            if (parts.length != 2 || parts[0].isBlank()
                    || !DEFAULT_SECURITY_PROTOCOLS.containsKey(parts[1].trim().toUpperCase(java.util.Locale.ROOT))) {
                throw new IllegalArgumentException("listener.security.protocol.map entry '" + entry.trim()
                        + "' must look like NAME:PROTOCOL with PROTOCOL one of " + DEFAULT_SECURITY_PROTOCOLS.keySet());
            }
            map.put(parts[0].trim().toUpperCase(java.util.Locale.ROOT),
                    parts[1].trim().toUpperCase(java.util.Locale.ROOT));
        }
        return map;
    }

    private static InterNodeSecurity interNode(Properties props) {
        String protocol = get(props, "inter.node.security.protocol").toUpperCase(java.util.Locale.ROOT);
        if (!protocol.equals("PLAINTEXT") && !protocol.equals("SSL")) {
            throw new IllegalArgumentException("inter.node.security.protocol must be PLAINTEXT or SSL, was '"
                    + protocol + "'");
        }
        String keystore = get(props, "inter.node.ssl.keystore.location");
        String truststore = get(props, "inter.node.ssl.truststore.location");
        if (protocol.equals("SSL") && (keystore.isEmpty() || truststore.isEmpty())) {
            throw new IllegalArgumentException("inter.node.security.protocol=SSL needs "
                    + "inter.node.ssl.keystore.location (this node's key and certificate) and "
                    + "inter.node.ssl.truststore.location (the cluster CA)");
        }
        return new InterNodeSecurity(protocol, keystore.isEmpty() ? null : Path.of(keystore),
                get(props, "inter.node.ssl.keystore.type"), get(props, "inter.node.ssl.keystore.password"),
                get(props, "inter.node.ssl.key.password"), truststore.isEmpty() ? null : Path.of(truststore),
                get(props, "inter.node.ssl.truststore.type"), get(props, "inter.node.ssl.truststore.password"));
    }

    /** {@code host:port} of the HTTP endpoint ({@code /metrics}, {@code /health}); null (none) when empty. */
    private static Listener metricsListener(String value) {
        if (value.isBlank()) {
            return null;
        }
        int colon = value.lastIndexOf(':');
        try {
            return new Listener("HTTP", value.substring(0, colon), Integer.parseInt(value.substring(colon + 1)));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("'metrics.listener' must look like host:port, was '" + value + "'");
        }
    }

    /** {@code host:port}; by default the Kafka listener's host with its port + 200. */
    private static Listener replicationListener(String value, Listener kafka) {
        if (value.isBlank()) {
            return new Listener("REPLICATION", kafka.host(), kafka.port() == 0 ? 0 : kafka.port() + 200);
        }
        int colon = value.lastIndexOf(':');
        try {
            return new Listener("REPLICATION", value.substring(0, colon), Integer.parseInt(value.substring(colon + 1)));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("'replication.listener' must look like host:port, was '" + value + "'");
        }
    }

    private static Map<Integer, InetSocketAddress> voters(String value) {
        return value.isBlank() ? Map.of() : QuorumConfig.parseVoters(value);
    }

    /** The effective value of every key, as Kafka's DescribeConfigs shows a broker's configs. */
    public Map<String, String> effectiveValues() {
        Map<String, String> v = new TreeMap<>();
        v.put("node.id", Integer.toString(nodeId));
        v.put("data.dir", dataDir.toString());
        v.put("listeners", listeners.stream().map(Listener::toString)
                .collect(java.util.stream.Collectors.joining(",")));
        v.put("advertised.listeners", advertisedListeners.stream().map(Listener::toString)
                .collect(java.util.stream.Collectors.joining(",")));
        v.put("listener.security.protocol.map", listeners.stream().map(l -> l.name() + ":" + l.protocol())
                .collect(java.util.stream.Collectors.joining(",")));
        v.put("num.partitions", Integer.toString(numPartitions));
        v.put("default.replication.factor", Integer.toString(defaultReplicationFactor));
        v.put("auto.create.topics.enable", Boolean.toString(autoCreateTopicsEnable));
        v.put("log.segment.bytes", Long.toString(logSegmentBytes));
        v.put("log.roll.ms", Long.toString(logRollMs));
        v.put("log.retention.ms", Long.toString(logRetentionMs));
        v.put("log.retention.bytes", Long.toString(logRetentionBytes));
        v.put("message.max.bytes", Integer.toString(messageMaxBytes));
        v.put("log.message.timestamp.type", logMessageTimestampType);
        v.put("compression.type", compressionType);
        v.put("log.retention.check.interval.ms", Long.toString(logRetentionCheckIntervalMs));
        v.put("log.cleaner.enable", Boolean.toString(logCleanerEnable));
        v.put("log.cleaner.backoff.ms", Long.toString(logCleanerBackoffMs));
        v.put("log.cleaner.dedupe.buffer.size", Long.toString(logCleanerDedupeBufferSize));
        v.put("log.cleaner.io.max.bytes.per.second", Double.toString(logCleanerIoMaxBytesPerSecond));
        v.put("log.cleaner.threads", Integer.toString(logCleanerThreads));
        v.put("log.flush.interval.ms", Long.toString(logFlushIntervalMs));
        v.put("log.flush.interval.messages", Long.toString(logFlushIntervalMessages));
        v.put("producer.id.expiration.ms", Long.toString(producerIdExpirationMs));
        v.put("producer.id.expiration.check.interval.ms", Long.toString(producerIdExpirationCheckIntervalMs));
        v.put("socket.request.max.bytes", Integer.toString(socketRequestMaxBytes));
        v.put("connections.max.idle.ms", Long.toString(connectionsMaxIdleMs));
        v.put("max.connections", Integer.toString(maxConnections));
        v.put("max.connections.per.ip", Integer.toString(maxConnectionsPerIp));
        v.put("max.connections.per.ip.overrides", maxConnectionsPerIpOverrides.entrySet().stream()
                .map(e -> e.getKey() + ":" + e.getValue()).sorted()
                .collect(java.util.stream.Collectors.joining(",")));
        v.put("num.io.threads", Integer.toString(numIoThreads));
        v.put("queued.max.requests", Integer.toString(queuedMaxRequests));
        v.put("queued.max.request.bytes", Long.toString(queuedMaxRequestBytes));
        v.put("fetch.max.bytes", Integer.toString(fetchMaxBytes));
        v.put("controller.quorum.voters", controllerQuorumVoters.entrySet().stream()
                .map(e -> e.getKey() + "@" + e.getValue().getHostString() + ":" + e.getValue().getPort())
                .sorted().collect(java.util.stream.Collectors.joining(",")));
        v.put("broker.session.timeout.ms", Long.toString(brokerSessionTimeoutMs));
        v.put("broker.heartbeat.interval.ms", Long.toString(brokerHeartbeatIntervalMs));
        v.put("controller.quorum.election.timeout.ms", Long.toString(controllerQuorumElectionTimeoutMs));
        v.put("controller.quorum.request.timeout.ms", Long.toString(controllerQuorumRequestTimeoutMs));
        v.put("metadata.snapshot.interval.records", Long.toString(metadataSnapshotIntervalRecords));
        v.put("metadata.log.segment.bytes", Long.toString(metadataLogSegmentBytes));
        v.put("replication.listener", replicationListener.host() + ":" + replicationListener.port());
        v.put("replica.lag.time.max.ms", Long.toString(replicaLagTimeMaxMs));
        v.put("min.insync.replicas", Integer.toString(minInsyncReplicas));
        v.put("replica.fetch.wait.max.ms", Integer.toString(replicaFetchWaitMaxMs));
        v.put("replica.fetch.max.bytes", Integer.toString(replicaFetchMaxBytes));
        v.put("replica.fetch.response.max.bytes", Integer.toString(replicaFetchResponseMaxBytes));
        v.put("offsets.topic.num.partitions", Integer.toString(offsetsTopicNumPartitions));
        v.put("offsets.topic.replication.factor", Integer.toString(offsetsTopicReplicationFactor));
        v.put("group.initial.rebalance.delay.ms", Integer.toString(groupInitialRebalanceDelayMs));
        v.put("group.min.session.timeout.ms", Integer.toString(groupMinSessionTimeoutMs));
        v.put("group.max.session.timeout.ms", Integer.toString(groupMaxSessionTimeoutMs));
        v.put("group.max.size", Integer.toString(groupMaxSize));
        v.put("offsets.retention.minutes", Long.toString(offsetsRetentionMinutes));
        v.put("offsets.retention.check.interval.ms", Long.toString(offsetsRetentionCheckIntervalMs));
        transactions.putInto(v);
        v.put("auto.leader.rebalance.enable", Boolean.toString(leaderElections.autoLeaderRebalanceEnable()));
        v.put("leader.imbalance.per.broker.percentage",
                Integer.toString(leaderElections.leaderImbalancePerBrokerPercentage()));
        v.put("leader.imbalance.check.interval.seconds",
                Long.toString(leaderElections.leaderImbalanceCheckIntervalMs() / 1000));
        v.put("unclean.leader.election.enable", Boolean.toString(leaderElections.uncleanLeaderElectionEnable()));
        v.put("group.consumer.session.timeout.ms", Integer.toString(consumerGroups.sessionTimeoutMs()));
        v.put("group.consumer.heartbeat.interval.ms", Integer.toString(consumerGroups.heartbeatIntervalMs()));
        v.put("group.consumer.max.size", Integer.toString(consumerGroups.maxSize()));
        v.put("group.consumer.assignors", String.join(",", consumerGroups.assignors()));
        v.put("metrics.listener", metricsListener == null ? "" : metricsListener.host() + ":" + metricsListener.port());
        v.put("inter.node.security.protocol", interNode.protocol());
        v.put("inter.node.ssl.keystore.location", Objects.toString(interNode.keystoreLocation(), ""));
        v.put("inter.node.ssl.keystore.type", interNode.keystoreType());
        v.put("inter.node.ssl.truststore.location", Objects.toString(interNode.truststoreLocation(), ""));
        v.put("inter.node.ssl.truststore.type", interNode.truststoreType());
        v.put("sasl.enabled.mechanisms", String.join(",", saslEnabledMechanisms));
        v.put("authorizer.class.name", authorization.enabled() ? STANDARD_AUTHORIZER : "");
        v.put("super.users", String.join(";", authorization.superUsers()));
        v.put("allow.everyone.if.no.acl.found", Boolean.toString(authorization.allowEveryoneIfNoAclFound()));
        // Passwords and JAAS configs are never shown (Kafka answers them as sensitive, with no value).
        return v;
    }

    /** A value that must be one of {@code allowed} (Kafka's spelling). */
    private static String oneOf(Properties props, String key, Set<String> allowed) {
        String value = get(props, key).trim();
        if (!allowed.contains(value)) {
            throw new IllegalArgumentException(key + " must be one of " + new java.util.TreeSet<>(allowed) + ", was '"
                    + value + "'");
        }
        return value;
    }

    /**
     * The node's file values of the topic defaults the leader applies to appends ({@code message.timestamp.type},
     * {@code compression.type}), under their topic names.
     */
    public Map<String, String> messageFormatDefaults() {
        return Map.of("message.timestamp.type", logMessageTimestampType, "compression.type", compressionType);
    }

    /** The KIP-848 consumer group settings ({@code group.consumer.*}), validated by {@code ConsumerGroupConfig}. */
    private static io.tributary.node.group.ConsumerGroupConfig consumerGroups(Properties props) {
        return new io.tributary.node.group.ConsumerGroupConfig(intValue(props, "group.consumer.session.timeout.ms"),
                intValue(props, "group.consumer.heartbeat.interval.ms"), intValue(props, "group.consumer.max.size"),
                List.of(get(props, "group.consumer.assignors").split("\\s*,\\s*")).stream().map(String::trim)
                        .filter(a -> !a.isEmpty()).toList());
    }

    private static String get(Properties props, String key) {
        String value = props.getProperty(key, DEFAULTS.get(key));
        if (value == null) {
            throw new IllegalArgumentException("missing required config '" + key + "'");
        }
        return value.trim();
    }

    private static int intValue(Properties props, String key) {
        try {
            return Integer.parseInt(get(props, key));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("config '" + key + "' must be an integer, was '" + get(props, key) + "'");
        }
    }

    /**
     * A time config with Kafka's coarser synonyms: {@code msKey} if the file sets it, else {@code minutesKey}, else
     * {@code hoursKey}, else {@code msKey}'s default (as Kafka's {@code log.retention.ms} / {@code .minutes} /
     * {@code .hours} and {@code log.roll.ms} / {@code .hours}). -1 stays -1 (no limit).
     */
    private static long timeMs(Properties props, String msKey, String minutesKey, String hoursKey) {
        if (props.containsKey(msKey)) {
            return longValue(props, msKey);
        }
        if (minutesKey != null && props.containsKey(minutesKey) && !get(props, minutesKey).isEmpty()) {
            long minutes = longValue(props, minutesKey);
            return minutes < 0 ? -1 : Math.multiplyExact(minutes, 60_000L);
        }
        if (props.containsKey(hoursKey)) {
            long hours = longValue(props, hoursKey);
            return hours < 0 ? -1 : Math.multiplyExact(hours, 3_600_000L);
        }
        return longValue(props, msKey);
    }

    private static long longValue(Properties props, String key) {
        try {
            return Long.parseLong(get(props, key));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("config '" + key + "' must be an integer, was '" + get(props, key) + "'");
        }
    }

    private static double doubleValue(Properties props, String key) {
        try {
            return Double.parseDouble(get(props, key));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("config '" + key + "' must be a number, was '" + get(props, key) + "'");
        }
    }

    private static boolean boolValue(Properties props, String key) {
        String v = get(props, key);
        if (!v.equals("true") && !v.equals("false")) {
            throw new IllegalArgumentException("config '" + key + "' must be true or false, was '" + v + "'");
        }
        return Boolean.parseBoolean(v);
    }

    private static void require(boolean condition, String message) {
        if (!condition) {
            throw new IllegalArgumentException(message);
        }
    }

    /**
     * One listener, {@code NAME://host:port}, with the security protocol its name maps to
     * ({@code listener.security.protocol.map}).
     */
    public record Listener(String name, String host, int port, String protocol) {

        public Listener {
            require(port >= 0 && port <= 65535, "listener port out of range: " + port);
        }

        /** A listener of our own (replication, metrics): not a Kafka listener. */
        public Listener(String name, String host, int port) {
            this(name, host, port, "PLAINTEXT");
        }

        @Override
        public String toString() {
            return name + "://" + host + ":" + port;
        }

        /** Whether this listener speaks TLS (SSL, SASL_SSL). */
        public boolean tls() {
            return protocol.equals("SSL") || protocol.equals("SASL_SSL");
        }

        /** Whether this listener authenticates clients with SASL (SASL_PLAINTEXT, SASL_SSL). */
        public boolean sasl() {
            return protocol.startsWith("SASL_");
        }

        static List<Listener> parseAll(String key, String value, Map<String, String> protocols) {
            List<Listener> all = new java.util.ArrayList<>();
            for (String entry : value.split(",")) {
                if (entry.isBlank()) {
                    continue;
                }
                Listener l = parse(key, entry.trim(), protocols);
                if (all.stream().anyMatch(o -> o.name().equals(l.name()))) {
                    throw new IllegalArgumentException("'" + key + "' names listener " + l.name() + " twice");
                }
                all.add(l);
            }
            if (all.isEmpty()) {
                throw new IllegalArgumentException("'" + key + "' names no listener");
            }
            return all;
        }

        private static Listener parse(String key, String value, Map<String, String> protocols) {
            int sep = value.indexOf("://");
            if (sep <= 0) {
                throw new IllegalArgumentException("'" + key + "' entries must look like NAME://host:port, was '"
                        + value + "'");
            }
            String name = value.substring(0, sep).toUpperCase(java.util.Locale.ROOT);
            if (name.equals("REPLICATION") || name.equals("HTTP")) {
                throw new IllegalArgumentException("listener name " + name + " in '" + key
                        + "' is reserved for the node's own endpoints; choose another name");
            }
            String protocol = protocols.get(name);
            if (protocol == null) {
                throw new IllegalArgumentException("listener " + name + " in '" + key
                        + "' has no security protocol: add it to listener.security.protocol.map");
            }
            if (!SUPPORTED_PROTOCOLS.contains(protocol)) {
                throw new IllegalArgumentException("listener " + name + " uses " + protocol
                        + ", which this node does not support yet (supported: " + SUPPORTED_PROTOCOLS + ")");
            }
            try {
                URI uri = new URI("tcp" + value.substring(sep));
                if (uri.getHost() == null || uri.getPort() < 0) {
                    throw new IllegalArgumentException("'" + key + "' entries must look like NAME://host:port, was '"
                            + value + "'");
                }
                return new Listener(name, uri.getHost(), uri.getPort(), protocol);
            } catch (java.net.URISyntaxException e) {
                throw new IllegalArgumentException("'" + key + "' is not a listener URI: '" + value + "'");
            }
        }
    }
}
