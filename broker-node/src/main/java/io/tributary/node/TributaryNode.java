package io.tributary.node;

import io.tributary.metadata.BrokerLifecycle;
import io.tributary.metadata.BrokerRegistration;
import io.tributary.metadata.MetadataImage;
import io.tributary.metadata.QuorumDescription;
import io.tributary.node.group.GroupCoordinatorConfig;
import io.tributary.node.group.GroupService;
import io.tributary.node.handlers.ApiHandler;
import io.tributary.node.metrics.MetricsHttpServer;
import io.tributary.node.metrics.NodeMetrics;
import io.tributary.node.handlers.FindCoordinatorHandler;
import io.tributary.node.handlers.GroupHandlers;
import io.tributary.node.handlers.TransactionHandlers;
import io.tributary.node.handlers.ApiVersionsHandler;
import io.tributary.node.handlers.CreateTopicsHandler;
import io.tributary.node.handlers.DeleteTopicsHandler;
import io.tributary.node.handlers.DescribeClusterHandler;
import io.tributary.node.handlers.DescribeConfigsHandler;
import io.tributary.node.handlers.DescribeQuorumHandler;
import io.tributary.node.handlers.FetchHandler;
import io.tributary.node.handlers.InitProducerIdHandler;
import io.tributary.node.handlers.ListOffsetsHandler;
import io.tributary.node.handlers.MetadataHandler;
import io.tributary.node.handlers.NodeServices;
import io.tributary.node.handlers.OffsetForLeaderEpochHandler;
import io.tributary.node.handlers.ProduceHandler;
import io.tributary.node.handlers.AclHandlers;
import io.tributary.node.handlers.SaslHandlers;
import io.tributary.node.security.NodeAuthorizer;
import io.tributary.node.handlers.ScramCredentialsHandlers;
import io.tributary.node.handlers.ProducerIdManager;
import io.tributary.node.network.ConnectionLimits;
import io.tributary.node.network.KafkaListener;
import io.tributary.node.network.RequestMemoryPool;
import io.tributary.node.network.RequestDispatcher;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.tributary.metadata.InterNodeTls;
import io.tributary.replication.ReplicationTls;
import org.apache.kafka.common.security.ssl.SslFactory;
import io.tributary.replication.LogMaintenanceConfig;
import io.tributary.replication.ReplicaManager;
import io.tributary.replication.ReplicationConfig;
import io.tributary.replication.ReplicationService;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import io.tributary.storage.LogConfig;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.protocol.ApiKeys;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Tributary node: its metadata store and controller, its partition replicas, and its Kafka listener.
 * {@link #main} runs one from a properties file until SIGTERM; tests may {@link #start} nodes in-process.
 *
 * <p>Lifecycle: {@link #start} opens the data dir (refusing one that belongs to another node id), starts the
 * metadata quorum, then registers the node while it opens the hosted logs (recovering them after a crash), and
 * opens the Kafka listener once the controller has unfenced it. {@link #main} exits with status 1 if the
 * start fails, before the node has registered when the cause is a port or the data dir.
 * {@link #close} stops listening, then closes logs and metadata, so that the next start is a clean one.
 */
public final class TributaryNode implements Closeable {

    private static final Logger log = LoggerFactory.getLogger(TributaryNode.class);

    private final NodeConfig config;
    private final MetadataQuorum quorum;
    private final BrokerLifecycle lifecycle;
    private final ReplicaManager replicas;
    private final GroupService groups;
    private final io.tributary.node.txn.TransactionService txns;
    private final NodeMetrics metrics;
    private final MetricsHttpServer http;
    private final Server replicationServer;
    private final ThreadPoolExecutor ioThreads;
    private final List<KafkaListener> listeners;

    private TributaryNode(NodeConfig config, MetadataQuorum quorum, BrokerLifecycle lifecycle,
            ReplicaManager replicas, GroupService groups, io.tributary.node.txn.TransactionService txns,
            Server replicationServer, ThreadPoolExecutor ioThreads,
            List<KafkaListener> listeners, NodeMetrics metrics, MetricsHttpServer http) {
        this.metrics = metrics;
        this.http = http;
        this.config = config;
        this.quorum = quorum;
        this.lifecycle = lifecycle;
        this.replicas = replicas;
        this.groups = groups;
        this.txns = txns;
        this.replicationServer = replicationServer;
        this.ioThreads = ioThreads;
        this.listeners = List.copyOf(listeners);
    }

    /** The exit code of a node that halted because a write, truncation or fsync of one of its logs failed. */
    public static final int EXIT_DISK_FAILED = 3;

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: TributaryNode <node.properties>");
            System.exit(2);
        }
        Properties props = new Properties();
        try (InputStream in = Files.newInputStream(Path.of(args[0]))) {
            props.load(in);
        }
        NodeConfig config;
        try {
            config = NodeConfig.from(props);
        } catch (IllegalArgumentException e) {
            System.err.println("Invalid config " + args[0] + ": " + e.getMessage());
            System.exit(2);
            return;
        }
        TributaryNode node;
        try {
            node = start(config);
        } catch (Throwable e) {
            // A node that cannot start must not linger half-started (registered, leading partitions, no listener).
            log.error("node={} failed to start; exiting", config.nodeId(), e);
            System.err.println("Tributary node " + config.nodeId() + " failed to start: " + e);
            System.exit(1);
            return;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log.info("node={} shutting down", config.nodeId());
            node.close();
            log.info("node={} stopped", config.nodeId());
        }, "shutdown"));
    }

    public static TributaryNode start(NodeConfig config) throws IOException, InterruptedException {
        String clusterId = readOrCreateMeta(config);
        // The Kafka listener opens once the node is unfenced (clients then find it ready), but a port that is taken
        // must fail the start before the node registers and can be made a leader.
        for (NodeConfig.Listener l : config.listeners()) {
            checkPortFree(l);
        }
        // TLS of the Kafka listeners is set up (keystores read) before anything starts, as inter-node TLS is.
        boolean sslListener = config.listeners().stream().anyMatch(l -> l.tls() && !l.sasl());
        boolean saslSslListener = config.listeners().stream().anyMatch(l -> l.tls() && l.sasl());
        SslFactory listenerSsl = sslListener ? ListenerSsl.serverFactory(config.ssl(), false) : null;
        SslFactory listenerSaslSsl = saslSslListener ? ListenerSsl.serverFactory(config.ssl(), true) : null;
        if (!config.interNode().ssl() && config.clustered() && config.listeners().stream()
                .anyMatch(l -> l.tls() || l.sasl())) {
            log.warn("node={} secures its Kafka listeners but talks to the other nodes in plaintext: anyone who "
                    + "reaches the replication or Ratis ports can read every partition and change the metadata. "
                    + "Set inter.node.security.protocol=SSL (docs/security.md)", config.nodeId());
        }
        // So are the SASL listeners' mechanisms and users; failed logins are counted once the metrics exist.
        java.util.concurrent.atomic.AtomicReference<NodeMetrics> failedLogins =
                new java.util.concurrent.atomic.AtomicReference<>();
        java.util.Map<String, java.util.function.Supplier<io.tributary.node.network.SaslSession>> saslSessions =
                new java.util.HashMap<>();
        // SCRAM credentials are read from the node's newest metadata when a client logs in.
        java.util.concurrent.atomic.AtomicReference<java.util.function.Supplier<MetadataImage>> images =
                new java.util.concurrent.atomic.AtomicReference<>(() -> MetadataImage.EMPTY);
        ListenerSasl.ScramCredentials scram = (user, mechanism) -> ScramCredentialsHandlers.credential(
                images.get().get(), user, mechanism);
        for (NodeConfig.Listener l : config.listeners()) {
            if (l.sasl()) {
                saslSessions.put(l.name(), ListenerSasl.sessions(l.name(), config.saslEnabledMechanisms(),
                        config.saslJaasConfigs(), scram, () -> {
                            NodeMetrics m = failedLogins.get();
                            if (m != null) {
                                m.saslAuthenticationFailed(l.name());
                            }
                        }));
            }
        }
        // Keystores are read before anything starts: a wrong path or password fails the start, naming the setting.
        InterNodeTls interNodeTls = config.interNode().ssl() ? config.interNode().load() : null;
        LogConfig logDefaults = new LogConfig(config.logSegmentBytes(), config.logRollMs(), config.logRetentionMs(),
                config.logRetentionBytes(), config.messageMaxBytes(), LogConfig.DEFAULTS.indexIntervalBytes(),
                LogConfig.DEFAULTS.segmentIndexBytes());
        MetadataQuorum quorum = MetadataQuorum.start(config, interNodeTls,
                new io.tributary.metadata.TopicConfigPolicy() {
                    @Override
                    public String problem(java.util.Map<String, String> overrides,
                            java.util.Collection<String> names) {
                        return io.tributary.node.handlers.TopicConfigs.alterationProblem(overrides, names,
                                logDefaults);
                    }

                    @Override
                    public String brokerProblem(java.util.Map<String, String> brokerConfigs) {
                        return io.tributary.node.handlers.TopicConfigs.brokerProblem(brokerConfigs, logDefaults);
                    }
                });
        // Loading Kafka's protocol classes takes seconds on a busy machine: do it while the node registers and opens
        // its logs, once the metadata quorum (the critical path back into the cluster) has started.
        Thread warmUp = new Thread(ApiKeys::values, "warm-up");
        warmUp.setDaemon(true);
        warmUp.start();
        ReplicaManager replicas = new ReplicaManager(config.nodeId(), config.dataDir().resolve("logs"), logDefaults,
                Clock.systemUTC(), new ReplicationConfig(config.replicaLagTimeMaxMs(), config.minInsyncReplicas(),
                        config.replicaFetchWaitMaxMs(), config.replicaFetchMaxBytes()));
        replicas.setMessageFormatDefaults(io.tributary.storage.MessageFormatConfig.DEFAULTS.withOverrides(
                config.messageFormatDefaults()));
        // Every Kafka listener is registered by name (the first one first), then the replication endpoint.
        List<BrokerRegistration.BrokerEndpoint> endpoints = new ArrayList<>();
        for (NodeConfig.Listener advertised : config.advertisedListeners()) {
            endpoints.add(new BrokerRegistration.BrokerEndpoint(advertised.name(), advertised.host(),
                    advertised.port()));
        }
        // Transaction markers for the partitions led here: from this node's coordinators, from the other nodes'
        // (over the replication port), and from WriteTxnMarkers (kafka-transactions abort).
        io.tributary.node.txn.TransactionMarkerWriter markerWriter =
                new io.tributary.node.txn.TransactionMarkerWriter(replicas);
        Server replicationServer = null;
        ReplicationService replicationService = null;
        if (config.clustered()) {
            // Followers fetch from this node over gRPC; the endpoint is registered so that they find it.
            NodeConfig.Listener r = config.replicationListener();
            NettyServerBuilder replicationBuilder = NettyServerBuilder.forAddress(
                    new InetSocketAddress(r.host(), r.port()));
            if (interNodeTls != null) {
                // Only nodes (certificates of the cluster CA) may fetch from this leader.
                replicationBuilder.sslContext(ReplicationTls.server(interNodeTls));
                replicas.setInterNodeTls(interNodeTls);
            }
            // Peers get bounded answers whatever they ask for (see ReplicationService: streams, bytes, waits).
            replicationService = new ReplicationService(replicas, config.replicaFetchResponseMaxBytes(),
                    ReplicationService.DEFAULT_MAX_STREAMS, ReplicationService.DEFAULT_MAX_WAIT_MS);
            // A follower's fetch is answered on the connection's event loop (a read of the page cache, or a wait
            // registered without a thread), not handed to gRPC's executor and back; marker writes keep the executor.
            replicationBuilder.callExecutor(new io.grpc.ServerCallExecutorSupplier() {
                @Override
                public <ReqT, RespT> java.util.concurrent.Executor getExecutor(io.grpc.ServerCall<ReqT, RespT> call,
                        io.grpc.Metadata headers) {
                    return call.getMethodDescriptor().getFullMethodName().equals(
                            io.tributary.proto.replication.ReplicationServiceGrpc.getFetchMethod().getFullMethodName())
                            ? com.google.common.util.concurrent.MoreExecutors.directExecutor() : null;
                }
            });
            replicationServer = replicationBuilder
                    .addService(replicationService)
                    .addService(new io.tributary.node.txn.TransactionMarkerGrpcService(markerWriter))
                    .maxInboundMessageSize(16 << 20)
                    .build()
                    .start();
            endpoints.add(new BrokerRegistration.BrokerEndpoint(ReplicaManager.REPLICATION_ENDPOINT, r.host(),
                    replicationServer.getPort()));
        }
        BrokerLifecycle lifecycle = new BrokerLifecycle(config.nodeId(), endpoints, quorum.heartbeatChannel(),
                quorum.localView(), config.brokerHeartbeatIntervalMs());
        replicas.setController(new ControllerIsrChannel(config.nodeId(), quorum.channel(), lifecycle::brokerEpoch),
                lifecycle::brokerEpoch);
        // Heartbeats report the metadata the replicas have acted on: the controller unfences this node (and may
        // make it a leader) only once its logs for the metadata up to its registration are open.
        lifecycle.setPublishedOffset(() -> replicas.image().offset());
        replicas.setNewestImage(lifecycle::image);
        replicas.setFlushIntervalMessages(config.logFlushIntervalMessages());
        // A write, truncation or fsync of a log failed: its files are in an unknown state (after a failed fsync the
        // kernel may have dropped the pages, and a later fsync would succeed). Like Kafka when its last log directory
        // goes offline, the node halts at once: no shutdown hook, whose close would mark the logs clean. The other
        // replicas hold what was acknowledged with acks=all; the next start recovers the logs from their recovery
        // points.
        replicas.setDiskFailureHandler((partition, error) -> {
            log.error("node={} halting with exit code {}: a write, truncation or fsync of {} failed ({})",
                    config.nodeId(), EXIT_DISK_FAILED, partition, error.toString());
            Runtime.getRuntime().halt(EXIT_DISK_FAILED);
        });
        images.set(lifecycle::image);
        GroupService groups = new GroupService(config.nodeId(), replicas, new GroupCoordinatorConfig(
                config.groupInitialRebalanceDelayMs(), config.groupMaxSize(), config.groupMinSessionTimeoutMs(),
                config.groupMaxSessionTimeoutMs(), GroupCoordinatorConfig.DEFAULT_NEW_MEMBER_JOIN_TIMEOUT_MS,
                GroupCoordinatorConfig.DEFAULT_OFFSET_METADATA_MAX_SIZE, config.offsetsRetentionMinutes() * 60_000,
                config.offsetsRetentionCheckIntervalMs()), config.consumerGroups(), System::currentTimeMillis,
                config.offsetsTopicNumPartitions());
        ProducerIdManager producerIds = new ProducerIdManager(quorum.channel(), config.nodeId());
        NodeConfig.Transactions txnConfig = config.transactions();
        io.tributary.node.txn.TransactionService txns = new io.tributary.node.txn.TransactionService(config.nodeId(),
                replicas, io.tributary.node.txn.TransactionCoordinatorConfig.defaults()
                        .withTransactionMaxTimeoutMs(txnConfig.maxTimeoutMs())
                        .withTransactionalIdExpirationMs(txnConfig.idExpirationMs())
                        .withCleanupIntervals(txnConfig.abortTimedOutIntervalMs(),
                                txnConfig.removeExpiredIntervalMs()),
                producerIds::tryNextProducerId, System::currentTimeMillis, txnConfig.stateLogNumPartitions(),
                new io.tributary.node.txn.TransactionMarkerSender(config.nodeId(), markerWriter,
                        interNodeTls == null ? null : io.tributary.replication.ReplicationTls.client(interNodeTls)));
        // Registration runs while the logs open and while the rest of the node is built (the Kafka handlers,
        // metrics and listeners load thousands of classes: seconds on a busy machine): a restarted node is back in
        // the cluster, as a follower catching up, as soon as its logs are open. Its Kafka listener opens once it
        // is unfenced and built.
        CompletableFuture<Void> unfenced = lifecycle.start();
        lifecycle.addListener(replicas);
        // After the replica manager: a group partition's log is open before its coordinator loads it.
        lifecycle.addListener(groups);
        lifecycle.addListener(txns);
        // A marker committed on a __consumer_offsets partition led here applies or drops the producer's pending
        // transactional offsets (TxnOffsetCommit), before the marker is reported written.
        markerWriter.setListener((partition, producerId, commit) -> {
            if (partition.topic().equals(GroupService.TOPIC)) {
                groups.onTransactionCompleted(partition.partition(), producerId, commit);
            }
        });
        // Last: by now the replicas have acted on the image, so requests waiting for this offset may go on.
        lifecycle.addListener((previous, next) -> lifecycle.onPublished());
        NodeMetrics metrics = new NodeMetrics(config.nodeId(), replicas, groups, quorum::controllerActive,
                quorum.ratis());
        RequestMemoryPool memory = new RequestMemoryPool(config.queuedMaxRequestBytes());
        metrics.requestMemory(memory);
        metrics.transactions(txns);
        if (replicationService != null) {
            metrics.replicationStreams(replicationService);
        }
        NodeServices services = new NodeServices(config, clusterId, lifecycle, quorum.channel(), replicas,
                producerIds, metrics,
                new NodeAuthorizer(config.authorization(), lifecycle::image), memory);
        AtomicInteger threadIds = new AtomicInteger();
        ThreadPoolExecutor ioThreads = new ThreadPoolExecutor(config.numIoThreads(), config.numIoThreads(), 0,
                TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(config.queuedMaxRequests()), r -> {
                    Thread t = new Thread(r, "io-" + threadIds.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        metrics.ioQueue(ioThreads, config.queuedMaxRequests());
        metrics.controllerQueue(quorum, MetadataQuorum::controllerQueuedRequests);
        RequestDispatcher[] dispatcher = new RequestDispatcher[1];
        List<ApiHandler> handlers = new ArrayList<>(GroupHandlers.all(services, groups));
        handlers.add(new FindCoordinatorHandler(services, groups, txns));
        handlers.addAll(TransactionHandlers.all(services, txns, groups, markerWriter));
        handlers.addAll(List.of(
                new ApiVersionsHandler(() -> dispatcher[0].supportedVersions()),
                new MetadataHandler(services),
                new CreateTopicsHandler(services),
                new DeleteTopicsHandler(services),
                new io.tributary.node.handlers.CreatePartitionsHandler(services),
                new io.tributary.node.handlers.ElectLeadersHandler(services),
                new io.tributary.node.handlers.AlterPartitionReassignmentsHandler(services),
                new io.tributary.node.handlers.ListPartitionReassignmentsHandler(services),
                new io.tributary.node.handlers.UnregisterBrokerHandler(services),
                new ProduceHandler(services, afterMetadataWait(ioThreads)),
                new FetchHandler(services),
                new ListOffsetsHandler(services),
                new io.tributary.node.handlers.DeleteRecordsHandler(services),
                new InitProducerIdHandler(services, txns),
                new DescribeConfigsHandler(services),
                new io.tributary.node.handlers.IncrementalAlterConfigsHandler(services),
                new io.tributary.node.handlers.AlterConfigsHandler(services),
                new DescribeClusterHandler(services),
                new OffsetForLeaderEpochHandler(services),
                new io.tributary.node.handlers.DescribeProducersHandler(services),
                new DescribeQuorumHandler(services, () -> describeQuorum(config, quorum, lifecycle)),
                new io.tributary.node.handlers.DescribeLogDirsHandler(services),
                new io.tributary.node.handlers.DescribeTopicPartitionsHandler(services)));
        handlers.addAll(SaslHandlers.all());
        handlers.addAll(ScramCredentialsHandlers.all(services));
        handlers.addAll(AclHandlers.all(services));
        dispatcher[0] = new RequestDispatcher(handlers, ioThreads, metrics);
        failedLogins.set(metrics);
        List<KafkaListener> listeners = new ArrayList<>();
        ConnectionLimits connectionLimits = new ConnectionLimits(config.maxConnections(), config.maxConnectionsPerIp(),
                config.maxConnectionsPerIpOverrides());
        metrics.connections(connectionLimits);
        for (NodeConfig.Listener l : config.listeners()) {
            SslFactory tls = !l.tls() ? null : l.sasl() ? listenerSaslSsl : listenerSsl;
            listeners.add(new KafkaListener(l.name(), l.host(), l.port(), config.socketRequestMaxBytes(),
                    config.connectionsMaxIdleMs(), connectionLimits, memory,
                    dispatcher[0], tls, saslSessions.get(l.name())));
        }
        java.util.concurrent.atomic.AtomicBoolean listening = new java.util.concurrent.atomic.AtomicBoolean();
        MetricsHttpServer http = null;
        if (config.metricsListener() != null) {
            http = new MetricsHttpServer(config.metricsListener().host(), config.metricsListener().port(), metrics,
                    () -> healthProblems(config, lifecycle, quorum, listening.get()));
        }
        replicas.startCleaner(new io.tributary.replication.LogCleanerConfig(config.logCleanerEnable(),
                config.logCleanerBackoffMs(), config.logCleanerDedupeBufferSize(),
                config.logCleanerIoMaxBytesPerSecond(), config.logCleanerThreads()));
        replicas.startMaintenance(new LogMaintenanceConfig(config.logRetentionCheckIntervalMs(),
                config.logFlushIntervalMs(), config.producerIdExpirationMs(),
                config.producerIdExpirationCheckIntervalMs()));
        awaitUnfenced(config, unfenced, () -> "registered: " + (lifecycle.brokerEpoch() >= 0 ? "epoch "
                + lifecycle.brokerEpoch() : "no") + ", fenced: " + lifecycle.isFenced() + ", last controller answer: "
                + lifecycle.msSinceControllerContact() + " ms ago, metadata offset " + lifecycle.image().offset()
                + ", acted on by the replicas up to " + replicas.image().offset());
        // Caught up with the metadata up to our registration: directories of topics deleted meanwhile are now known.
        replicas.handleStrayLogs();
        List<String> bound = new ArrayList<>();
        for (KafkaListener l : listeners) {
            l.start();
            bound.add(l.name() + "://" + l.host() + ":" + l.port());
        }
        listening.set(true);
        log.info("Tributary node {} started: listening on {}, cluster id {}, data dir {}", config.nodeId(),
                String.join(", ", bound), clusterId, config.dataDir());
        return new TributaryNode(config, quorum, lifecycle, replicas, groups, txns, replicationServer, ioThreads, listeners,
                metrics, http);
    }

    /** The metadata quorum as its leader sees it (a single node is a quorum of one); null if no leader answers. */
    private static CompletableFuture<QuorumDescription> describeQuorum(NodeConfig config, MetadataQuorum quorum,
            BrokerLifecycle lifecycle) {
        if (!config.clustered()) {
            long end = lifecycle.image().offset() + 1;
            long now = System.currentTimeMillis();
            return CompletableFuture.completedFuture(new QuorumDescription(config.nodeId(), 1, end,
                    List.of(new QuorumDescription.Voter(config.nodeId(), end, now, now))));
        }
        return quorum.channel().send(io.tributary.proto.metadata.ControllerRequest.newBuilder()
                        .setDescribeQuorum(io.tributary.proto.metadata.DescribeQuorumRequest.getDefaultInstance())
                        .build())
                .handle((response, error) -> error == null && response.hasDescribeQuorum()
                        ? QuorumDescription.fromProto(response.getDescribeQuorum()) : null);
    }

    /** What {@code GET /health} reports: nothing when the node serves well. */
    private static List<String> healthProblems(NodeConfig config, BrokerLifecycle lifecycle, MetadataQuorum quorum,
            boolean listening) {
        List<String> problems = new ArrayList<>();
        if (lifecycle.brokerEpoch() < 0) {
            problems.add("not registered with an active controller");
        } else if (lifecycle.isFenced()) {
            problems.add("fenced by the active controller");
        }
        long silentMs = lifecycle.msSinceControllerContact();
        if (silentMs > config.brokerSessionTimeoutMs()) {
            problems.add("no answer from an active controller for " + silentMs + " ms");
        }
        if (!listening) {
            problems.add("Kafka listener not open");
        }
        if (quorum.ratis() != null) {
            if (!quorum.ratis().stateMachineRunning()) {
                problems.add("metadata state machine is not running");
            }
            long skipped = quorum.ratis().skippedEntries();
            if (skipped > 0) {
                problems.add("metadata state machine skipped " + skipped
                        + " entries that did not decode or apply (see the log)");
            }
        }
        return problems;
    }

    private static void checkPortFree(NodeConfig.Listener listener) throws IOException {
        if (listener.port() == 0) {
            return;
        }
        try (java.net.ServerSocket probe = new java.net.ServerSocket()) {
            probe.setReuseAddress(true);
            probe.bind(new InetSocketAddress(listener.host(), listener.port()));
        } catch (IOException e) {
            throw new IOException("cannot listen on " + listener.host() + ":" + listener.port() + ": " + e.getMessage(),
                    e);
        }
    }

    private static void awaitUnfenced(NodeConfig config, CompletableFuture<Void> unfenced,
            java.util.function.Supplier<String> state) throws InterruptedException {
        while (true) {
            try {
                unfenced.get(10, TimeUnit.SECONDS);
                return;
            } catch (TimeoutException e) {
                log.info("node={} waiting to be registered and unfenced by an active controller (voters {}; {})",
                        config.nodeId(), config.controllerQuorumVoters(), state.get());
            } catch (ExecutionException e) {
                throw new IllegalStateException("registration failed", e.getCause());
            }
        }
    }

    /** The hosted replicas (tests in this package write transaction markers through it). */
    ReplicaManager replicas() {
        return replicas;
    }

    /** The port the first Kafka listener is bound to. */

    public int port() {
        return listeners.get(0).port();
    }

    public NodeConfig config() {
        return config;
    }

    /**
     * Reads the data dir's {@code meta.properties} (cluster id, node id), creating it for a new data dir. A data dir
     * written by another node id is refused, as Kafka does.
     */
    private static String readOrCreateMeta(NodeConfig config) throws IOException {
        Path meta = config.dataDir().resolve("meta.properties");
        Files.createDirectories(config.dataDir());
        Properties props = new Properties();
        if (Files.exists(meta)) {
            try (InputStream in = Files.newInputStream(meta)) {
                props.load(in);
            }
            String nodeId = props.getProperty("node.id");
            if (!Integer.toString(config.nodeId()).equals(nodeId)) {
                throw new IllegalStateException("data dir " + config.dataDir() + " belongs to node " + nodeId
                        + ", not to node " + config.nodeId());
            }
            String stored = props.getProperty("cluster.id");
            if (config.clustered() && !stored.equals(clusterIdFor(config))) {
                throw new IllegalStateException("data dir " + config.dataDir() + " belongs to cluster " + stored
                        + ", not to the cluster of voters " + config.controllerQuorumVoters());
            }
            return stored;
        }
        props.setProperty("cluster.id", clusterIdFor(config));
        props.setProperty("node.id", Integer.toString(config.nodeId()));
        Path tmp = config.dataDir().resolve("meta.properties.tmp");
        try (OutputStream out = Files.newOutputStream(tmp)) {
            props.store(out, "Tributary node metadata; do not edit");
        }
        Files.move(tmp, meta, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        return props.getProperty("cluster.id");
    }

    /**
     * A cluster's id is derived from its voters, so every node of one cluster reports the same id without a format
     * step; a single node gets a random one, kept in its data dir.
     */
    private static String clusterIdFor(NodeConfig config) {
        if (!config.clustered()) {
            return Uuid.randomUuid().toString();
        }
        UUID id = UUID.nameUUIDFromBytes(config.effectiveValues().get("controller.quorum.voters")
                .getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return new Uuid(id.getMostSignificantBits(), id.getLeastSignificantBits()).toString();
    }

    @Override
    public void close() {
        // Closing interrupts the coordinators' and marker writers' threads, which may be writing to a log: a write
        // failed that way is no disk failure and must not halt a node that is closing cleanly.
        replicas.beginClose();
        if (http != null) {
            http.close();
        }
        metrics.close();
        for (KafkaListener l : listeners) {
            l.close();
        }
        ioThreads.shutdown();
        try {
            ioThreads.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        lifecycle.close();
        groups.close();
        txns.close();
        if (replicationServer != null) {
            replicationServer.shutdownNow();
        }
        replicas.close();
        quorum.close();
    }

    /**
     * Runs a request that waited for the metadata on the io threads; when their queue is full (it is bounded by
     * {@code queued.max.requests}), on the common pool rather than failing a request that was already accepted.
     */
    private static java.util.concurrent.Executor afterMetadataWait(ThreadPoolExecutor ioThreads) {
        return task -> {
            try {
                ioThreads.execute(task);
            } catch (java.util.concurrent.RejectedExecutionException full) {
                java.util.concurrent.ForkJoinPool.commonPool().execute(task);
            }
        };
    }
}
