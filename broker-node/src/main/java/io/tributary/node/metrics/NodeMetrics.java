package io.tributary.node.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.tributary.metadata.MetadataImage;
import io.tributary.metadata.PartitionImage;
import io.tributary.metadata.RatisMetadataStore;
import io.tributary.metadata.TopicImage;
import io.tributary.node.group.GroupService;
import io.tributary.replication.Partition;
import io.tributary.replication.PartitionId;
import io.tributary.replication.ReplicaManager;
import io.tributary.replication.ReplicationQuota;
import io.tributary.replication.ReplicationService;
import java.io.Closeable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's meters, in one Micrometer Prometheus registry; meter names are the constants below (Prometheus style
 * once exported, e.g. {@code tributary_topic_in_records_total}; {@code docs/metrics.md} lists every exported name).
 * Traffic and request meters are updated by the intent-named methods; cluster-state gauges read the replica
 * manager, its metadata image and the quorum when scraped; per-partition and group gauges are refreshed every few
 * seconds.
 *
 * <p>Threads: the update methods may be called on any thread; one refresher thread; scraping on any thread.
 */
public final class NodeMetrics implements RequestMetrics, Closeable {

    public static final String GROUP_LAG = "tributary.group.lag";
    public static final String GROUP_STATE = "tributary.group.state";
    public static final String PARTITION_HIGH_WATERMARK = "tributary.partition.high.watermark";
    public static final String PARTITION_LOG_END_OFFSET = "tributary.partition.log.end.offset";
    public static final String PARTITION_LOG_SIZE = "tributary.partition.log.size";
    public static final String FOLLOWER_FETCH_LAG = "tributary.follower.fetch.lag";
    public static final String TOPIC_IN_BYTES = "tributary.topic.in";
    public static final String TOPIC_IN_RECORDS = "tributary.topic.in.records";
    public static final String TOPIC_OUT_BYTES = "tributary.topic.out";
    public static final String TOPIC_OUT_RECORDS = "tributary.topic.out.records";
    public static final String REQUESTS = "tributary.requests";
    public static final String REQUEST_LATENCY = "tributary.request.latency";
    public static final String REQUEST_ERRORS = "tributary.request.errors";
    public static final String PARTITIONS_LED = "tributary.partitions.led";
    public static final String PARTITIONS_UNDER_REPLICATED = "tributary.partitions.under.replicated";
    public static final String PARTITIONS_OFFLINE = "tributary.partitions.offline";
    public static final String ISR_SHRINKS = "tributary.isr.shrinks";
    public static final String ISR_EXPANDS = "tributary.isr.expands";
    public static final String LEADER_ELECTIONS = "tributary.leader.elections";
    public static final String STRAY_LOG_DIRS = "tributary.log.stray.dirs";
    public static final String PRODUCE_WAITERS = "tributary.produce.waiters";
    public static final String FETCH_WAITERS = "tributary.fetch.waiters";
    public static final String WAIT_TIMEOUTS = "tributary.wait.timeouts";
    public static final String PRODUCER_IDS = "tributary.producer.ids";
    public static final String LOG_INDEX_HEAP = "tributary.log.index.heap";
    public static final String LOG_CLEANER_RUNS = "tributary.log.cleaner.runs";
    public static final String LOG_CLEANER_BYTES_READ = "tributary.log.cleaner.read";
    public static final String LOG_CLEANER_BYTES_REMOVED = "tributary.log.cleaner.removed";
    public static final String LOG_CLEANER_DIRTY_PERCENT = "tributary.log.cleaner.dirty.percent";
    public static final String LOG_CLEANER_SINCE_LAST_CLEAN = "tributary.log.cleaner.time.since.last.clean";
    public static final String REPLICATION_THROTTLE_RATE = "tributary.replication.throttle.rate";
    public static final String REPLICATION_THROTTLE_LIMIT = "tributary.replication.throttle.limit";
    public static final String REPLICATION_THROTTLED_BYTES = "tributary.replication.throttle.recorded";
    public static final String REPLICATION_THROTTLE_HELD_BACK = "tributary.replication.throttle.held.back";
    public static final String LOG_PENDING_DELETES = "tributary.log.pending.deletes";
    public static final String FETCH_FILE_SLICES_OPEN = "tributary.fetch.file.slices.open";
    public static final String FETCH_FILE_SLICES = "tributary.fetch.file.slices";
    public static final String FETCH_FILE_HANDLES = "tributary.fetch.file.handles.opened";
    public static final String CONTROLLER_ACTIVE = "tributary.controller.active";
    public static final String RAFT_TERM = "tributary.raft.term";
    public static final String RAFT_COMMIT_INDEX = "tributary.raft.commit.index";
    public static final String RAFT_APPLIED_INDEX = "tributary.raft.applied.index";
    public static final String SASL_AUTHENTICATION_FAILURES = "tributary.sasl.authentication.failures";
    public static final String CONNECTIONS = "tributary.connections";
    public static final String CONNECTIONS_REFUSED = "tributary.connections.refused";
    public static final String REPLICATION_STREAMS = "tributary.replication.streams";
    public static final String REPLICATION_STREAMS_REFUSED = "tributary.replication.streams.refused";
    public static final String REQUEST_MEMORY_USED = "tributary.request.memory.used";
    public static final String REQUEST_MEMORY_LIMIT = "tributary.request.memory.limit";
    public static final String REQUEST_MEMORY_WAITING = "tributary.request.memory.waiting.connections";
    public static final String REQUEST_MEMORY_REFUSALS = "tributary.request.memory.refusals";
    public static final String IO_QUEUE = "tributary.io.queue.requests";
    public static final String CONTROLLER_QUEUE = "tributary.controller.queue.requests";
    public static final String IO_QUEUE_LIMIT = "tributary.io.queue.limit";
    public static final String GROUP_COORDINATOR_QUEUE = "tributary.group.coordinator.queue.calls";
    public static final String TXN_COORDINATOR_QUEUE = "tributary.txn.coordinator.queue.calls";
    public static final String TXN_TRANSACTIONAL_IDS = "tributary.txn.transactional.ids";
    private static final Logger log = LoggerFactory.getLogger(NodeMetrics.class);
    private static final long REFRESH_MS = 2_000;

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final ReplicaManager replicas;
    private final GroupService groups;
    private final Map<String, TopicMeters> topics = new ConcurrentHashMap<>();
    private final Map<ApiKeys, ApiMeters> apis = new ConcurrentHashMap<>();
    private final Map<String, Counter> errors = new ConcurrentHashMap<>();
    private final GaugeRows groupLag;
    private volatile io.tributary.node.txn.TransactionService txns;
    private volatile GaugeRows txnStates;
    private final GaugeRows groupState;
    private final GaugeRows highWatermarks;
    private final GaugeRows logEndOffsets;
    private final GaugeRows logSizes;
    private final GaugeRows followerLags;
    private final GaugeRows dirtyPercents;
    private final GaugeRows sinceLastClean;
    private final ScheduledExecutorService refresher = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "metrics-refresh");
        t.setDaemon(true);
        return t;
    });

    private record TopicMeters(Counter bytesIn, Counter recordsIn, Counter bytesOut, Counter recordsOut) {}

    private record ApiMeters(Counter requests, Timer latency) {}

    /**
     * The rows of a multi-gauge, each reading a holder kept across refreshes: a refresh updates values in place and
     * only adds or removes rows, so a concurrent scrape never misses a row that exists before and after it (a
     * Micrometer row overwrite removes and re-adds the meter). Used by the refresher thread only.
     */
    private static final class GaugeRows {
        private final MultiGauge gauge;
        private Map<Tags, AtomicLong> values = new HashMap<>();

        GaugeRows(MultiGauge gauge) {
            this.gauge = gauge;
        }

        void set(Map<Tags, Long> now) {
            Map<Tags, AtomicLong> next = new HashMap<>();
            List<MultiGauge.Row<?>> rows = new ArrayList<>();
            now.forEach((tags, value) -> {
                AtomicLong holder = values.getOrDefault(tags, new AtomicLong());
                holder.set(value);
                next.put(tags, holder);
                rows.add(MultiGauge.Row.of(tags, holder, AtomicLong::get));
            });
            values = next;
            gauge.register(rows, false);
        }
    }

    /**
     * @param controllerActive whether this node's controller is the active one
     * @param ratis the voter's metadata store (Raft term and indexes), or null on a node that is not a voter
     */
    public NodeMetrics(int nodeId, ReplicaManager replicas, GroupService groups, BooleanSupplier controllerActive,
            RatisMetadataStore ratis) {
        this.replicas = replicas;
        this.groups = groups;
        registry.config().commonTags("node", Integer.toString(nodeId));
        bindJvmAndProcess();
        groupLag = rows(GROUP_LAG, "records", "records between a group's committed offset and the high watermark, "
                + "per partition, for groups this node coordinates");
        groupState = rows(GROUP_STATE, null, "1 for the current state of each group this node coordinates");
        highWatermarks = rows(PARTITION_HIGH_WATERMARK, null, "high watermark of each partition replica on this node");
        logEndOffsets = rows(PARTITION_LOG_END_OFFSET, null, "log end offset of each partition replica on this node");
        logSizes = rows(PARTITION_LOG_SIZE, "bytes", "bytes of log segments on disk of each partition replica here");
        followerLags = rows(FOLLOWER_FETCH_LAG, "records", "records between the leader's high watermark, as last "
                + "fetched, and this follower's log end");
        dirtyPercents = rows(LOG_CLEANER_DIRTY_PERCENT, null, "per compacted partition replica, the dirty share of the "
                + "bytes the log cleaner may compact, in percent, as its last pass saw it");
        sinceLastClean = rows(LOG_CLEANER_SINCE_LAST_CLEAN, "milliseconds", "per compacted partition replica, the time "
                + "since the log cleaner last rewrote its segments (absent until it first did)");
        registerClusterState(controllerActive, ratis);
        refresher.scheduleWithFixedDelay(this::refresh, 0, REFRESH_MS, TimeUnit.MILLISECONDS);
    }

    /** The Prometheus text exposition of every meter. */
    public String scrape() {
        return registry.scrape();
    }

    /** A leader appended client batches to a partition of {@code topic}. */
    public void produced(String topic, long records, long bytes) {
        TopicMeters meters = topicMeters(topic);
        meters.recordsIn.increment(records);
        meters.bytesIn.increment(bytes);
    }

    /** A consumer fetch response carried {@code records} records in {@code bytes} bytes of {@code topic}. */
    public void consumed(String topic, long records, long bytes) {
        TopicMeters meters = topicMeters(topic);
        meters.recordsOut.increment(records);
        meters.bytesOut.increment(bytes);
    }

    @Override
    public void requestHandled(ApiKeys api, long nanos) {
        ApiMeters meters = apis.computeIfAbsent(api, this::apiMeters);
        meters.requests.increment();
        meters.latency.record(nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void requestFailed(ApiKeys api, Errors error) {
        errors.computeIfAbsent(api.name + "/" + error.name(), key -> Counter.builder(REQUEST_ERRORS)
                .description("errors in responses, per partition for Produce and Fetch")
                .tags("api", api.name, "error", error.name()).register(registry)).increment();
    }

    /** Counts a failed SASL authentication (wrong password, unknown user) on {@code listener}. */
    public void saslAuthenticationFailed(String listener) {
        Counter.builder(SASL_AUTHENTICATION_FAILURES).description("failed SASL authentications of Kafka clients")
                .tag("listener", listener).register(registry).increment();
    }

    /** The open client connections, and those refused for max.connections / max.connections.per.ip. */
    public void connections(io.tributary.node.network.ConnectionLimits limits) {
        // Read from the limits object the listeners hold: a gauge holds its object weakly (a lambda nothing else
        // held read NaN after a GC).
        Gauge.builder(CONNECTIONS, limits, l -> l.openConnections()).description("open Kafka client connections")
                .register(registry);
        io.micrometer.core.instrument.FunctionCounter.builder(CONNECTIONS_REFUSED, limits,
                l -> l.refusedConnections()).description("client connections closed at accept for a connection limit")
                .register(registry);
    }

    /** The replication fetch streams other nodes have open on this one, and those refused at the cap. */
    public void replicationStreams(io.tributary.replication.ReplicationService service) {
        Gauge.builder(REPLICATION_STREAMS, service, ReplicationService::openStreams)
                .description("replication fetch streams open on this node (bound: " + service.maxStreams() + ")")
                .register(registry);
        FunctionCounter.builder(REPLICATION_STREAMS_REFUSED, service, ReplicationService::refusedStreams)
                .description("replication fetch streams refused because the bound was reached").register(registry);
    }

    /** The node's request and response memory ({@code queued.max.request.bytes}) and who waits for it. */
    public void requestMemory(io.tributary.node.network.RequestMemoryPool pool) {
        Gauge.builder(REQUEST_MEMORY_USED, pool, p -> p.used()).baseUnit("bytes")
                .description("request and response bytes held (queued.max.request.bytes)").register(registry);
        Gauge.builder(REQUEST_MEMORY_LIMIT, pool, p -> p.capacity() == Long.MAX_VALUE ? -1 : p.capacity())
                .baseUnit("bytes").description("queued.max.request.bytes; -1: no bound").register(registry);
        Gauge.builder(REQUEST_MEMORY_WAITING, pool, p -> p.waitingConnections())
                .description("connections that stopped reading until request memory is given back")
                .register(registry);
        io.micrometer.core.instrument.FunctionCounter.builder(REQUEST_MEMORY_REFUSALS, pool, p -> p.refusals())
                .description("request frames that had to wait for memory").register(registry);
    }

    /** Broker requests waiting for this node's controller (bound: Controller.MAX_QUEUED_REQUESTS). */
    public <T> void controllerQueue(T owner, java.util.function.ToDoubleFunction<T> size) {
        Gauge.builder(CONTROLLER_QUEUE, owner, size)
                .description("broker requests waiting for this node's controller to decide them").register(registry);
    }

    /** The io threads' request queue (queued.max.requests) and its bound. */
    public void ioQueue(java.util.concurrent.ThreadPoolExecutor ioThreads, int limit) {
        Gauge.builder(IO_QUEUE, ioThreads, t -> t.getQueue().size())
                .description("requests waiting for an io thread (bound: queued.max.requests)").register(registry);
        Gauge.builder(IO_QUEUE_LIMIT, () -> limit).strongReference(true).description("queued.max.requests")
                .register(registry);
    }

    private GaugeRows rows(String name, String baseUnit, String description) {
        return new GaugeRows(MultiGauge.builder(name).baseUnit(baseUnit).description(description).register(registry));
    }

    private TopicMeters topicMeters(String topic) {
        return topics.computeIfAbsent(topic, t -> new TopicMeters(
                Counter.builder(TOPIC_IN_BYTES).baseUnit("bytes").tag("topic", t)
                        .description("bytes appended by producers to this node as leader").register(registry),
                Counter.builder(TOPIC_IN_RECORDS).tag("topic", t)
                        .description("records appended by producers to this node as leader").register(registry),
                Counter.builder(TOPIC_OUT_BYTES).baseUnit("bytes").tag("topic", t)
                        .description("record bytes sent in consumer fetch responses").register(registry),
                Counter.builder(TOPIC_OUT_RECORDS).tag("topic", t)
                        .description("records sent in consumer fetch responses").register(registry)));
    }

    private ApiMeters apiMeters(ApiKeys api) {
        return new ApiMeters(
                Counter.builder(REQUESTS).tag("api", api.name).description("Kafka requests handled")
                        .register(registry),
                Timer.builder(REQUEST_LATENCY).tag("api", api.name)
                        .description("time from a decoded request to its response, waits of fetches included")
                        .publishPercentileHistogram()
                        .minimumExpectedValue(Duration.ofMillis(1))
                        .maximumExpectedValue(Duration.ofSeconds(30))
                        .register(registry));
    }

    private void bindJvmAndProcess() {
        new JvmMemoryMetrics().bindTo(registry);
        new JvmGcMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        new FileDescriptorMetrics().bindTo(registry);
    }

    private void registerClusterState(BooleanSupplier controllerActive, RatisMetadataStore ratis) {
        Gauge.builder(PARTITIONS_LED, replicas, r -> count(r, Partition::isLeader))
                .description("partitions this node leads").register(registry);
        Gauge.builder(PARTITIONS_UNDER_REPLICATED, replicas, r -> count(r, p -> p.isLeader()
                        && p.image().isr().size() < p.image().replicas().size()))
                .description("partitions this node leads whose ISR is smaller than their replica set")
                .register(registry);
        Gauge.builder(PARTITIONS_OFFLINE, replicas, r -> offline(r.image()))
                .description("partitions of the cluster without a leader, in this node's metadata image")
                .register(registry);
        FunctionCounter.builder(ISR_SHRINKS, replicas, ReplicaManager::isrShrinks)
                .description("ISR shrinks of partitions this node led, as the metadata recorded them")
                .register(registry);
        FunctionCounter.builder(ISR_EXPANDS, replicas, ReplicaManager::isrExpands)
                .description("ISR expands of partitions this node led, as the metadata recorded them")
                .register(registry);
        FunctionCounter.builder(LEADER_ELECTIONS, replicas, ReplicaManager::leaderElections)
                .description("leader epoch changes of partitions this node hosts").register(registry);
        Gauge.builder(PRODUCE_WAITERS, replicas, ReplicaManager::commitWaiters)
                .description("acks=all produce batches waiting for the ISR (each leaves on commit, failure or timeout)")
                .register(registry);
        Gauge.builder(FETCH_WAITERS, replicas, ReplicaManager::fetchWaiters)
                .description("long-poll fetches waiting for data (each leaves on data or max.wait.ms)")
                .register(registry);
        Gauge.builder(WAIT_TIMEOUTS, replicas, r -> r.timeouts().pending())
                .description("timeouts of fetch and acks=all produce waits held by the node's timer (ended waits "
                        + "included until purged: at most twice the live waits of the last purge, or 4096)")
                .register(registry);
        FunctionCounter.builder(STRAY_LOG_DIRS, replicas, ReplicaManager::strayLogDirs)
                .description("partition directories renamed aside as stray (not in the metadata, not deleted)")
                .register(registry);
        Gauge.builder(GROUP_COORDINATOR_QUEUE, groups, GroupService::queuedCalls)
                .description("group requests waiting for the group-coordinator thread (at most 10,000; more are "
                        + "answered COORDINATOR_NOT_AVAILABLE)").register(registry);
        FunctionCounter.builder(LOG_CLEANER_RUNS, replicas, ReplicaManager::cleanerRuns)
                .description("log compaction passes that rewrote at least one segment").register(registry);
        FunctionCounter.builder(LOG_CLEANER_BYTES_READ, replicas, ReplicaManager::cleanerBytesRead).baseUnit("bytes")
                .description("bytes of segments log compaction rewrote").register(registry);
        FunctionCounter.builder(LOG_CLEANER_BYTES_REMOVED, replicas, ReplicaManager::cleanerBytesRemoved)
                .baseUnit("bytes").description("bytes log compaction removed").register(registry);
        for (ReplicationQuota quota : List.of(replicas.leaderQuota(), replicas.followerQuota())) {
            Gauge.builder(REPLICATION_THROTTLE_RATE, quota, q -> q.rate(System.currentTimeMillis()))
                    .tag("side", quota.side()).baseUnit("bytes.per.second")
                    .description("the rate of bytes of throttled replicas (KIP-73) sent as leader or fetched as "
                            + "follower, as the throttle measures it").register(registry);
            Gauge.builder(REPLICATION_THROTTLE_LIMIT, quota, q -> q.bytesPerSecond() == ReplicationQuota.UNLIMITED
                            ? -1 : q.bytesPerSecond()).tag("side", quota.side()).baseUnit("bytes.per.second")
                    .description("leader/follower.replication.throttled.rate of this node; -1 when unbounded")
                    .register(registry);
            FunctionCounter.builder(REPLICATION_THROTTLED_BYTES, quota, ReplicationQuota::recordedBytes)
                    .tag("side", quota.side()).baseUnit("bytes")
                    .description("bytes of throttled replicas sent as leader or fetched as follower").register(registry);
            FunctionCounter.builder(REPLICATION_THROTTLE_HELD_BACK, quota, ReplicationQuota::heldBack)
                    .tag("side", quota.side())
                    .description("partition fetches the replication throttle held back (a leader's empty answer to "
                            + "a follower outside the ISR, a follower's partition left out of a fetch)")
                    .register(registry);
        }
        Gauge.builder(LOG_PENDING_DELETES, replicas, ReplicaManager::pendingDeletes)
                .description("removed replicas' log directories renamed for deletion and not yet deleted (one per "
                        + "removed replica at most; the log-deleter thread deletes them)").register(registry);
        io.tributary.storage.FileSlices slices = replicas.fileSlices();
        Gauge.builder(FETCH_FILE_SLICES_OPEN, slices, io.tributary.storage.FileSlices::openCount)
                .description("segment-file slices held for consumers' zero-copy fetches, not yet sent (at most "
                        + slices.maxOpen() + "; past it fetches copy the records)").register(registry);
        FunctionCounter.builder(FETCH_FILE_SLICES, slices, io.tributary.storage.FileSlices::opened)
                .description("segment-file slices cut for consumers' fetches (records sent with sendfile, or read "
                        + "into a buffer under TLS)").register(registry);
        FunctionCounter.builder(FETCH_FILE_HANDLES, slices, io.tributary.storage.FileSlices::filesOpened)
                .description("read-only segment-file handles opened for fetch slices (the slices of an active "
                        + "segment share one, kept until the segment is rolled)").register(registry);
        Gauge.builder(LOG_INDEX_HEAP, replicas, ReplicaManager::indexHeapBytes).baseUnit("bytes")
                .description("heap held by the offset and time indexes of every hosted segment").register(registry);
        Gauge.builder(PRODUCER_IDS, replicas, ReplicaManager::producerIdCount)
                .description("idempotent producer ids held in the producer state of the partition replicas on this "
                        + "node (bounded by producer.id.expiration.ms)").register(registry);
        Gauge.builder(CONTROLLER_ACTIVE, controllerActive, a -> a.getAsBoolean() ? 1 : 0)
                .strongReference(true) // nothing else holds the supplier; a weak reference would read NaN
                .description("1 on the node whose controller is active, else 0").register(registry);
        if (ratis != null) {
            Gauge.builder(RAFT_TERM, ratis, RatisMetadataStore::currentTerm)
                    .description("this voter's Raft term of the metadata quorum").register(registry);
            Gauge.builder(RAFT_COMMIT_INDEX, ratis, RatisMetadataStore::commitIndex)
                    .description("last committed index of the metadata log on this voter").register(registry);
            Gauge.builder(RAFT_APPLIED_INDEX, ratis, RatisMetadataStore::appliedIndex)
                    .description("last index of the metadata log applied on this voter").register(registry);
        }
    }

    private static double count(ReplicaManager replicas, Predicate<Partition> which) {
        return replicas.partitions().stream().filter(which).count();
    }

    private static double offline(MetadataImage image) {
        long count = 0;
        for (TopicImage topic : image.topics().values()) {
            for (PartitionImage p : topic.partitions()) {
                if (!p.hasLeader()) {
                    count++;
                }
            }
        }
        return count;
    }

    /** The transaction coordinators: their request queue, and their transactional ids per state. */
    public void transactions(io.tributary.node.txn.TransactionService txns) {
        this.txns = txns;
        Gauge.builder(TXN_COORDINATOR_QUEUE, txns, io.tributary.node.txn.TransactionService::queuedCalls)
                .description("transaction requests waiting for the txn-coordinator thread (at most 10,000; more are "
                        + "answered COORDINATOR_NOT_AVAILABLE)").register(registry);
        txnStates = rows(TXN_TRANSACTIONAL_IDS, null, "transactional ids this node coordinates, per Kafka state name "
                + "(Ongoing, PrepareCommit, CompleteCommit, ...)");
    }

    private void refreshTransactions() throws Exception {
        if (txns == null) {
            return;
        }
        Map<Tags, Long> counts = new HashMap<>();
        txns.stateCounts().get(5, TimeUnit.SECONDS).forEach((state, n) -> counts.put(Tags.of("state", state),
                (long) n));
        txnStates.set(counts);
    }

    private void refresh() {
        try {
            refreshTransactions();
            dropDeletedTopics(replicas.image());
            Map<TopicPartition, Long> hw = refreshPartitions();
            Map<String, GroupService.GroupSnapshot> snapshot = groups.snapshot().get(5, TimeUnit.SECONDS);
            Map<Tags, Long> lags = new HashMap<>();
            Map<Tags, Long> states = new HashMap<>();
            snapshot.forEach((group, s) -> {
                states.put(Tags.of("group", group, "state", s.state()), 1L);
                s.committedOffsets().forEach((tp, committed) -> {
                    Long high = hw.get(tp);
                    if (high != null) {
                        lags.put(Tags.of("group", group, "topic", tp.topic(), "partition",
                                Integer.toString(tp.partition())), Math.max(0, high - committed));
                    }
                });
            });
            groupLag.set(lags);
            groupState.set(states);
        } catch (Exception e) {
            log.debug("metrics refresh failed: {}", e.toString());
        }
    }

    /**
     * Removes the per-topic meters of topics the image no longer has (deleted): they would otherwise stay, one set
     * per topic ever produced to or consumed from on this node. A topic created again starts from zero, as in Kafka.
     */
    private void dropDeletedTopics(MetadataImage image) {
        for (Map.Entry<String, TopicMeters> e : topics.entrySet()) {
            if (image.topic(e.getKey()) == null && topics.remove(e.getKey(), e.getValue())) {
                TopicMeters m = e.getValue();
                List.of(m.bytesIn(), m.recordsIn(), m.bytesOut(), m.recordsOut()).forEach(registry::remove);
            }
        }
    }

    /** Refreshes the per-partition gauges; returns each hosted partition's high watermark. */
    private Map<TopicPartition, Long> refreshPartitions() {
        Map<TopicPartition, Long> hw = new HashMap<>();
        Map<Tags, Long> hwRows = new HashMap<>();
        Map<Tags, Long> leoRows = new HashMap<>();
        Map<Tags, Long> sizeRows = new HashMap<>();
        Map<Tags, Long> lagRows = new HashMap<>();
        Map<Tags, Long> dirtyRows = new HashMap<>();
        Map<Tags, Long> sinceCleanRows = new HashMap<>();
        long now = System.currentTimeMillis();
        for (Partition p : replicas.partitions()) {
            PartitionId id = p.id();
            Tags tags = Tags.of("topic", id.topic(), "partition", Integer.toString(id.partition()));
            long high = p.highWatermark();
            hw.put(new TopicPartition(id.topic(), id.partition()), high);
            hwRows.put(tags, high);
            leoRows.put(tags, p.log().logEndOffset());
            sizeRows.put(tags, p.log().sizeInBytes());
            if (!p.isLeader()) {
                lagRows.put(tags, p.followerLag());
            }
            if (p.log().compaction().compact()) {
                dirtyRows.put(tags, (long) p.log().dirtyPercent());
                long lastClean = p.log().lastCleanMs();
                if (lastClean >= 0) {
                    sinceCleanRows.put(tags, Math.max(0, now - lastClean));
                }
            }
        }
        highWatermarks.set(hwRows);
        logEndOffsets.set(leoRows);
        logSizes.set(sizeRows);
        followerLags.set(lagRows);
        dirtyPercents.set(dirtyRows);
        sinceLastClean.set(sinceCleanRows);
        return hw;
    }

    @Override
    public void close() {
        refresher.shutdownNow();
        registry.close();
    }
}
